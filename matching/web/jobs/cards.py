"""Candidate cards for employers: anonymised facts, the score explained, translated.

Blind review (DESIGN §7): a ``Card`` carries only what may be shown before the employer
shortlists (code, rank, score, field, skills, Japanese level, training, experience,
availability, contributions); ``name`` and ``name_kana`` are filled only for revealed
candidates. Templates therefore never receive a hidden candidate's ``Trainee`` object.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from matching.extensions import db
from matching.i18n import _l, fmt_date, fmt_number
from matching.labels import effective_level_label, feature_label, level_label, level_source
from matching.models import Trainee
from matching.ranking.service import ModelChoice, ModelReason
from matching.references import candidate_ref

#: prefecture_match is 0.5 for a trainee who named no prefecture (``features`` docstring).
OPEN_TO_ANY_PREFECTURE = _l("Open to work in any prefecture")
#: Contributions smaller than this are noise on a bar chart.
_SHOWN_CONTRIBUTION = 0.005


def candidate_code(job_id: int, trainee_id: int) -> str:
    """An anonymous label such as ``C-K3QZ7A``, the same on every visit.

    HMAC-SHA256 of ``"<job id>:<trainee id>"`` under ``SECRET_KEY``, base32, 6 characters:
    it cannot be turned back into the trainee's id without the key, differs between job
    orders (codes cannot be matched across two job orders), and stays stable as long as
    ``SECRET_KEY`` does (changing the key renames every candidate). 30 bits: a label for
    people, not a lookup key (URLs carry ``matching.references.candidate_ref``).
    """
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"{job_id}:{trainee_id}".encode(), hashlib.sha256).digest()
    return "C-" + base64.b32encode(digest).decode()[:6]


@dataclass
class Bar:
    """One row of the contributions chart: ``width`` in % of half the chart."""

    label: str
    contribution: float
    value: float
    width: float
    feature: str = ""  # the feature's code (``ranking.features.FEATURES``)

    @property
    def positive(self) -> bool:
        return self.contribution >= 0


def contribution_bars(explanation: dict) -> list[Bar]:
    """The explanation's non-negligible contributions, largest first, scaled to the largest."""
    items = [c for c in explanation.get("contributions", ())
             if abs(c["contribution"]) >= _SHOWN_CONTRIBUTION]
    scale = max((abs(c["contribution"]) for c in items), default=1.0) or 1.0
    return [Bar(_bar_label(c["feature"], c["value"]), c["contribution"], c["value"],
                round(100 * abs(c["contribution"]) / scale, 1), c["feature"]) for c in items]


#: An employer's (or field's) own part of a contribution worth a sentence on the card.
_SHOWN_OWN_PART = 0.05


@dataclass
class OwnPart:
    """Where this employer's own decisions (``scope`` "employer") or its field's (``scope``
    "field") move the score away from what most employers' decisions give."""

    scope: str
    label: str
    delta: float


def own_parts(explanation: dict, top: int = 3) -> list[OwnPart]:
    """The ``top`` largest employer parts, then field parts, of the explanation's
    contributions (``explain.explain``), each at least ``_SHOWN_OWN_PART``."""
    out = []
    for scope in ("employer", "field"):
        items = [c for c in explanation.get("contributions", ())
                 if abs(c.get(scope, 0.0)) >= _SHOWN_OWN_PART]
        items.sort(key=lambda c: -abs(c[scope]))
        out += [OwnPart(scope, _bar_label(c["feature"], c["value"]), c[scope])
                for c in items[:top]]
    return out


def _bar_label(feature: str, value: float) -> str:
    if feature == "prefecture_match" and 0 < value < 1:
        return str(OPEN_TO_ANY_PREFECTURE)
    return feature_label(feature)


@dataclass
class Card:
    """What a candidate card shows; ``name`` only when the profile is revealed."""

    ref: str  # opaque, per job order: what URLs and forms carry (``matching.references``)
    code: str
    rank: int | None
    score: float | None
    field: str
    skills: list[tuple[str, str]]  # (slug, matched | missing | preferred | other)
    language: str
    language_ok: bool
    #: In words, which certificate the level comes from (or that it is declared).
    language_source: str
    training_hours: int
    experience_years: float
    availability: str
    available_ok: bool
    bars: list[Bar]
    decision: str | None = None
    revealed: bool = False
    name: str | None = None
    name_kana: str | None = None
    prefectures: list[str] = field(default_factory=list)
    own_parts: list[OwnPart] = field(default_factory=list)
    #: False for a candidate the job order's requirements exclude, shown on request.
    meets_requirements: bool = True


def make_card(job, trainee: Trainee, item: dict | None, *, decision: str | None,
              revealed: bool) -> Card:
    """The card of ``trainee`` for ``job``; ``item`` is its ranking (``rank_job`` shape)."""
    explanation = (item or {}).get("explanation") or {}
    language, language_ok = language_comparison(trainee, job)
    availability, available_ok = availability_text(trainee.available_from, job.start_date)
    return Card(
        ref=candidate_ref(job.id, trainee.id), code=candidate_code(job.id, trainee.id),
        rank=(item or {}).get("rank"), score=(item or {}).get("score"), field=trainee.field,
        skills=skill_marks(job, trainee.skill_slugs), language=language,
        language_ok=language_ok, language_source=level_source(trainee),
        training_hours=trainee.training_hours,
        experience_years=trainee.experience_years, availability=availability,
        available_ok=available_ok, bars=contribution_bars(explanation), decision=decision,
        revealed=revealed, name=trainee.full_name if revealed else None,
        name_kana=trainee.name_kana if revealed else None,
        prefectures=trainee.prefecture_codes, own_parts=own_parts(explanation),
        meets_requirements=(item or {}).get("meets_requirements", True))


def build_cards(job, items: list[dict], decisions: dict[int, str],
                revealed: set[int], *, loaded: dict[int, Trainee] | None = None
                ) -> list[Card]:
    """Cards for ranked ``items`` in their order: one query (plus one for skills and one for
    certificates, which name the level). ``loaded``, when given, receives the trainees
    read, by id (an item whose trainee is gone has no card and no entry)."""
    ids = [item["trainee_id"] for item in items]
    trainees = {t.id: t for t in db.session.scalars(
        sa.select(Trainee).where(Trainee.id.in_(ids)).options(
            selectinload(Trainee.skills), selectinload(Trainee.certificates)))
    } if ids else {}
    if loaded is not None:
        loaded.update(trainees)
    return [make_card(job, trainees[item["trainee_id"]], item,
                      decision=decisions.get(item["trainee_id"]),
                      revealed=item["trainee_id"] in revealed)
            for item in items if item["trainee_id"] in trainees]


def skill_marks(job, slugs: list[str]) -> list[tuple[str, str]]:
    """The job's required skills (matched or missing), then the trainee's other skills
    (preferred ones marked), in the job's order then alphabetical."""
    has = set(slugs)
    required = list(dict.fromkeys(job.required_skill_list))
    preferred = set(job.preferred_skill_list) - set(required)
    marks = [(s, "matched" if s in has else "missing") for s in required]
    marks += [(s, "preferred" if s in preferred else "other")
              for s in sorted(has - set(required), key=lambda s: (s not in preferred, s))]
    return marks


def language_comparison(trainee: Trainee, job) -> tuple[str, bool]:
    """("JLPT N2 ≥ N4 required ✓", True) or ("N5 < N4 required: 1 level below", False).

    The level is named as its test names it (``labels.effective_level_label``); the ranks
    compared are CEFR ranks, so a JFT-Basic A2 meets an N4 minimum.
    """
    level = effective_level_label(trainee)
    minimum_rank = job.min_language_rank or 0
    if minimum_rank == 0:
        return _("%(level)s (no minimum required)", level=level), True
    minimum = level_label(job.min_language_level)
    gap = minimum_rank - (trainee.language_rank or 0)
    if gap <= 0:
        return _("%(level)s ≥ %(minimum)s required ✓", level=level, minimum=minimum), True
    return ngettext("%(level)s < %(minimum)s required: %(num)d level below",
                    "%(level)s < %(minimum)s required: %(num)d levels below", gap,
                    level=level, minimum=minimum), False


def availability_text(available_from: date | None, start: date | None) -> tuple[str, bool]:
    """When the candidate can start, compared with the job's start date."""
    if available_from is None:
        return _("Available now"), True
    if start is None or available_from <= start:
        return _("Available from %(date)s ✓", date=fmt_date(available_from)), True
    days = (available_from - start).days
    return ngettext("Available from %(date)s, %(num)d day after the start date",
                    "Available from %(date)s, %(num)d days after the start date", days,
                    date=fmt_date(available_from)), False


def model_note(choice: ModelChoice) -> str:
    """Which model ranked, in words the employer can read."""
    model = choice.model
    if choice.version is None:
        if choice.reason is ModelReason.NO_MODEL:
            return _("Ranked by the expert prior (no model trained yet).")
        return _("Ranked by the expert prior (the stored model must be trained again).")
    count = model.n_decisions
    # ngettext passes the raw count as %(num)s; the message shows n, formatted (1,200).
    if model.kind == "blend":
        return ngettext("Ranked by model version %(version)s: a blend of the expert prior and "
                        "a model learned from %(n)s decision (α = %(alpha)s).",
                        "Ranked by model version %(version)s: a blend of the expert prior and "
                        "a model learned from %(n)s decisions (α = %(alpha)s).",
                        count, n=fmt_number(count), version=choice.version,
                        alpha=fmt_number(model.alpha, 2))
    return ngettext("Ranked by model version %(version)s, learned from %(n)s decision.",
                    "Ranked by model version %(version)s, learned from %(n)s decisions.",
                    count, n=fmt_number(count), version=choice.version)


class ListPage:
    """The attributes ``_macros.pager`` reads, for a list that is not a query."""

    def __init__(self, page: int, per_page: int, total: int):
        self.page, self.per_page, self.total = page, per_page, total
        self.pages = max(1, math.ceil(total / per_page))
        self.has_prev, self.has_next = page > 1, page < self.pages
        self.prev_num = page - 1 if self.has_prev else None
        self.next_num = page + 1 if self.has_next else None

    def iter_pages(self, *, left_edge=2, left_current=2, right_current=4, right_edge=2):
        """Page numbers with ``None`` for gaps, as Flask-SQLAlchemy's pagination does."""
        # Only the shown numbers are visited: a list of 100,000 has 5,000 pages.
        shown = sorted({*range(1, min(left_edge, self.pages) + 1),
                        *range(max(1, self.page - left_current),
                               min(self.pages, self.page + right_current - 1) + 1),
                        *range(max(1, self.pages - right_edge + 1), self.pages + 1)})
        last = 0
        for num in shown:
            if last + 1 != num:
                yield None
            yield num
            last = num

