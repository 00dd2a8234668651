"""Reference vocabularies with public codes (DESIGN §3).

Each module exposes plain data plus a resolver that turns what people type into a code.
Names come in en / ja / vi; ``localised(obj, locale)`` picks one.
"""

from matching.vocab.fields import FIELDS, field_name
from matching.vocab.folding import fold
from matching.vocab.languages import JAPANESE_LEVELS, japanese_rank, parse_japanese_level
from matching.vocab.prefectures import PREFECTURES, prefecture_name, resolve_prefecture
from matching.vocab.provinces import PROVINCES, province_name, resolve_province
from matching.vocab.skills import SKILL_CATALOGUE, normalise_skill, parse_skills

__all__ = [
    "FIELDS",
    "JAPANESE_LEVELS",
    "PREFECTURES",
    "PROVINCES",
    "SKILL_CATALOGUE",
    "field_name",
    "fold",
    "japanese_rank",
    "normalise_skill",
    "parse_japanese_level",
    "parse_skills",
    "prefecture_name",
    "province_name",
    "resolve_prefecture",
    "resolve_province",
]
