"""The skill vocabulary (``data/skills.csv``): one code per skill, its field(s), a label in
en / vi / ja and the aliases people type.

A skill is stored by its code, a slug ``[a-z0-9-]+``. Anything else a file or a form holds is
looked up by ``skill_key`` (NFKC, diacritics and case folded, punctuation and spaces dropped):
the code, any of the three labels, a CSV alias, or an alias an admin mapped (``extra``). What
is not found is kept as a *custom* skill, its slug as typed (``normalise_skill``), and matched
exactly, as before the vocabulary.
"""

import csv
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from matching.vocab.folding import fold, fold_key

SKILL_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Letters and digits of any script stay (a custom skill typed in Japanese is not dropped);
# Vietnamese has lost its marks to ``fold`` before this runs.
_NON_SLUG = re.compile(r"[\W_]+")
#: Separators of a list of skills: ; and , (also full-width) and the Japanese 、.
_LIST_SPLIT = re.compile(r"[;,；，、]")


def normalise_skill(text: str) -> str:
    """Trim, lower-case, fold diacritics and turn runs of other characters into one hyphen."""
    return _NON_SLUG.sub("-", fold(unicodedata.normalize("NFKC", text))).strip("-")


def skill_key(text: str | None) -> str:
    """The lookup key of a code, label or alias: "Bathing assistance", "bathing-assistance"
    and "BATHING  Assistance" are one key; "Hàn điện" and "han-dien" are one key."""
    return fold_key(unicodedata.normalize("NFKC", text or ""))


@dataclass(frozen=True)
class VocabSkill:
    code: str
    fields: tuple[str, ...]
    en: str
    vi: str
    ja: str
    aliases: tuple[str, ...]

    def label(self, locale: str | None) -> str:
        return getattr(self, locale) if locale in ("en", "vi", "ja") else self.en


def _load() -> dict[str, VocabSkill]:
    path = Path(__file__).parent / "data" / "skills.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            row["code"]: VocabSkill(
                row["code"], tuple(row["field"].split(";")), row["en"], row["vi"], row["ja"],
                tuple(a for a in row["aliases"].split("|") if a))
            for row in csv.DictReader(fh)
        }


#: Every vocabulary skill by code, in the CSV's order (by field, in the order of the work).
SKILLS: dict[str, VocabSkill] = _load()

_INDEX: dict[str, str] = {}
# Codes and labels first, aliases after: an alias never shadows another skill's name.
for _skill in SKILLS.values():
    for _name in (_skill.code, _skill.en, _skill.vi, _skill.ja):
        _INDEX.setdefault(skill_key(_name), _skill.code)
for _skill in SKILLS.values():
    for _name in _skill.aliases:
        _INDEX.setdefault(skill_key(_name), _skill.code)


def vocabulary_names() -> dict[str, str]:
    """Every name the vocabulary knows (its lookup key) and the code it stands for."""
    return dict(_INDEX)


def skills_for_field(field: str | None) -> list[VocabSkill]:
    """The vocabulary skills of ``field`` (every skill when ``field`` is empty)."""
    return [s for s in SKILLS.values() if not field or field in s.fields]


def is_vocabulary(code: str) -> bool:
    return code in SKILLS


def resolve_skill(text: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """The vocabulary code for a code, a label in any language or an alias (``extra``: the
    admin-mapped aliases, by ``skill_key``); ``None`` when the vocabulary does not know it."""
    key = skill_key(text)
    if not key:
        return None
    return _INDEX.get(key) or (extra or {}).get(key)


def skill_label(code: str, locale: str | None = "en") -> str:
    """The label of ``code`` in ``locale``; a custom skill is shown as it is stored."""
    skill = SKILLS.get(code)
    return skill.label(locale) if skill else code


def split_skills(cell: str | None) -> list[str]:
    """The non-blank parts of a list of skills as typed."""
    if not cell:
        return []
    return [p.strip() for p in _LIST_SPLIT.split(str(cell)) if p.strip()]


def parse_skills(cell: str | None, extra: Mapping[str, str] | None = None) -> list[str]:
    """A ``;``-separated cell (commas and 、 tolerated) as unique skills, order kept: the
    vocabulary code of what the vocabulary knows, else a custom slug (``normalise_skill``)."""
    seen: dict[str, None] = {}
    for part in split_skills(cell):
        slug = resolve_skill(part, extra) or normalise_skill(part)
        if slug:
            seen.setdefault(slug, None)
    return list(seen)


def custom_skills(slugs) -> list[str]:
    """Those of ``slugs`` that are not vocabulary codes (kept as typed, matched exactly)."""
    return [s for s in slugs if s not in SKILLS]


#: The starter lists the demo data and the benchmarks draw from (every slug is a vocabulary
#: code of its field; kept as they were so the seeded demo stays the same).
SKILL_CATALOGUE: dict[str, list[str]] = {
    "nursing_care": ["bathing-assistance", "meal-assistance", "mobility-assistance",
                     "dementia-care", "vital-signs", "care-records", "toileting-assistance"],
    "building_cleaning": ["floor-cleaning", "window-cleaning", "sanitation", "waste-sorting",
                          "cleaning-machines"],
    "manufacturing": ["cnc-machining", "welding", "press-operation", "quality-inspection",
                      "electronics-assembly", "plastic-molding", "forklift", "painting"],
    "construction": ["formwork", "rebar", "scaffolding", "concrete", "plastering", "tiling",
                     "interior-finishing", "heavy-machinery", "welding"],
    "shipbuilding": ["welding", "painting", "ironwork", "finishing", "electrical-wiring"],
    "auto_repair": ["engine-maintenance", "brake-service", "diagnostics", "tyre-service",
                    "electrical-systems"],
    "aviation": ["ground-handling", "aircraft-maintenance", "baggage-handling"],
    "accommodation": ["front-desk", "housekeeping", "restaurant-service", "customer-service"],
    "agriculture": ["crop-cultivation", "greenhouse", "livestock", "dairy", "harvesting",
                    "tractor-operation"],
    "fishery": ["aquaculture", "net-fishing", "fish-processing", "boat-operation"],
    "food_manufacturing": ["food-hygiene", "haccp", "bakery", "meat-processing", "packaging",
                           "seafood-processing"],
    "food_service": ["cooking", "food-hygiene", "customer-service", "kitchen-prep",
                     "dishwashing"],
    "auto_transport": ["truck-driving", "bus-driving", "taxi-driving", "cargo-handling"],
    "railway": ["track-maintenance", "rolling-stock-maintenance", "station-service"],
    "forestry": ["chainsaw", "logging", "planting", "forest-road-work"],
    "wood_industry": ["sawmill", "woodworking", "plywood", "lumber-grading"],
}


def skill_choices(locale: str | None) -> list[dict]:
    """The vocabulary as the skill picker reads it: code, label in ``locale``, fields, and
    every name's lookup key (so typing "tam" or "入浴" finds 入浴介助 in any language)."""
    return [
        {"code": s.code, "label": s.label(locale), "fields": list(s.fields),
         "keys": sorted({skill_key(n) for n in (s.code, s.en, s.vi, s.ja, *s.aliases)})}
        for s in sorted(SKILLS.values(), key=lambda s: s.label(locale))
    ]
