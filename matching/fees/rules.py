"""The rule table (``data/rules.json``): each check with its legal source, the dates it
applies from and to, and the destinations and visa tracks it covers.

A new circular is a data change: a changed cap is a new ``parameters`` value, a rule that
stops applying gets an ``applies_to`` and its successor an ``applies_from``. Only a new kind
of check needs code (``checks.CHECKS``), with its title in ``texts``.
"""

import functools
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from flask_babel import get_locale

RULES_FILE = Path(__file__).parent / "data" / "rules.json"
#: Every job order of the platform sends a worker to Japan.
DESTINATION = "JP"


@dataclass(frozen=True)
class Rule:
    id: str
    check: str
    applies_from: date | None
    applies_to: date | None
    destinations: tuple[str, ...]
    tracks: tuple[str, ...]
    parameters: MappingProxyType
    sources: MappingProxyType  # language -> the legal source in it

    def applies_on(self, day: date | None) -> bool:
        """Whether the rule covers ``day`` (an unknown day: only an open-ended rule)."""
        if day is None:
            return self.applies_from is None and self.applies_to is None
        return ((self.applies_from is None or self.applies_from <= day)
                and (self.applies_to is None or day <= self.applies_to))

    def covers(self, track: str, destination: str = DESTINATION) -> bool:
        return destination in self.destinations and track in self.tracks

    def source(self, locale: str | None = None) -> str:
        """The legal source in ``locale`` (default the reader's), else in English."""
        if locale is None:
            locale = getattr(get_locale(), "language", "en")
        return self.sources.get(locale) or self.sources["en"]


@dataclass(frozen=True)
class SurveyAverage:
    amount_jpy: int
    sources: MappingProxyType

    def source(self, locale: str | None = None) -> str:
        if locale is None:
            locale = getattr(get_locale(), "language", "en")
        return self.sources.get(locale) or self.sources["en"]


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@functools.cache
def _table() -> tuple[tuple[Rule, ...], SurveyAverage]:
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    rules = tuple(Rule(id=item["id"], check=item.get("check", item["id"]),
                       applies_from=_day(item.get("applies_from")),
                       applies_to=_day(item.get("applies_to")),
                       destinations=tuple(item["destinations"]), tracks=tuple(item["tracks"]),
                       parameters=MappingProxyType(dict(item.get("parameters", {}))),
                       sources=MappingProxyType(dict(item["source"])))
                  for item in data["rules"])
    survey = data["survey_average"]
    return rules, SurveyAverage(survey["amount_jpy"], MappingProxyType(dict(survey["source"])))


def rules() -> tuple[Rule, ...]:
    """Every rule of the table, in its order."""
    return _table()[0]


def survey_average() -> SurveyAverage:
    """What Vietnamese trainees paid on average before leaving (the ¥688,143 survey)."""
    return _table()[1]


def rule_ids() -> tuple[str, ...]:
    return tuple(rule.id for rule in rules())
