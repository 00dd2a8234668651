"""The 16 Specified Skilled Worker (SSW) fields, read from ``data/ssw_fields.csv``."""

import csv
from dataclasses import dataclass
from pathlib import Path

from matching.vocab.folding import fold_key


@dataclass(frozen=True)
class Field:
    code: str
    en: str
    ja: str
    vi: str
    ssw2: bool

    def name(self, locale: str) -> str:
        return getattr(self, locale, self.en) if locale in ("en", "ja", "vi") else self.en


def _load() -> dict[str, Field]:
    path = Path(__file__).parent / "data" / "ssw_fields.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            row["code"]: Field(row["code"], row["en"], row["ja"], row["vi"], row["ssw2"] == "yes")
            for row in csv.DictReader(fh)
        }


FIELDS: dict[str, Field] = _load()

_LOOKUP = {}
for _f in FIELDS.values():
    for _name in (_f.code, _f.en, _f.ja, _f.vi):
        _LOOKUP[fold_key(_name)] = _f.code


def resolve_field(text: str | None) -> str | None:
    """A field code from its code or its en / ja / vi name; ``None`` when unknown."""
    return _LOOKUP.get(fold_key(text)) if text else None


def field_name(code: str | None, locale: str = "en") -> str:
    field = FIELDS.get(code or "")
    return field.name(locale) if field else (code or "")
