"""Organisations named in imported files: found by code or name, new employers in bulk.

Files name an employer or an agency the way people write it ("Sakura Foods Co., Ltd.",
"sakura-foods"); this turns such a cell into an organisation id without a query per row,
and creates the employers a CLI import is allowed to create, each with a unique code.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from matching.extensions import db
from matching.i18n import _l
from matching.labels import ORG_KIND_LABELS
from matching.models import Organisation
from matching.operations.imports.parsing import CellError, chunks, short
from matching.vocab import fold
from matching.vocab.folding import fold_key

#: Leaves room for a "-NN" suffix within the 64 characters of ``Organisation.code``.
CODE_BASE_LIMIT = 56


def name_key(name: str) -> str:
    """Names that differ only in case, accents, width or punctuation are the same name."""
    return fold_key(unicodedata.normalize("NFKC", name))


@dataclass
class _Org:
    id: int
    kind: str


class OrganisationIndex:
    """Every organisation's id, kind, code and name, from one query.

    There are few organisations (one per department, school, employer, agency), and the
    code of a new employer must avoid every existing code, whatever its kind.
    """

    def __init__(self, rows):
        self.by_code: dict[str, _Org] = {}
        self.by_name: dict[str, list[_Org]] = {}
        self.reserved: set[str] = set()  # codes promised to employers not yet created
        for org_id, kind, code, name in rows:
            org = _Org(org_id, kind)
            self.by_code[code] = org
            self.by_name.setdefault(name_key(name), []).append(org)

    @classmethod
    def load(cls) -> "OrganisationIndex":
        return cls(db.session.execute(sa.select(
            Organisation.id, Organisation.kind, Organisation.code, Organisation.name)))

    def find(self, text: str, kind: str) -> int | None:
        """The id of the organisation of ``kind`` with this code or name; ``None`` if none.

        Raises CellError when the name is ambiguous or belongs to another kind.
        """
        by_code = self.by_code.get(text.strip().lower())
        if by_code is not None and by_code.kind == kind:
            return by_code.id
        named = self.by_name.get(name_key(text), [])
        same_kind = [o for o in named if o.kind == kind]
        if len(same_kind) > 1:
            raise CellError(_l("Several organisations are named “%(value)s”; write the "
                               "organisation's code instead.", value=short(text)))
        if same_kind:
            return same_kind[0].id
        other = by_code or next(iter(named), None)
        if other is not None:
            raise CellError(_l("“%(value)s” is not an organisation of the kind “%(kind)s” but "
                               "of the kind “%(other)s”.", value=short(text),
                               kind=ORG_KIND_LABELS[kind], other=ORG_KIND_LABELS[other.kind]))
        return None

    def new_code(self, name: str) -> str:
        """A unique code (slug) for a new organisation called ``name``: "-2", "-3" on clash."""
        base = re.sub(r"[^a-z0-9]+", "-", fold(name))
        base = base.strip("-")[:CODE_BASE_LIMIT].strip("-") or "employer"
        code, n = base, 1
        while code in self.by_code or code in self.reserved:
            n += 1
            code = f"{base}-{n}"
        self.reserved.add(code)
        return code


def create_employers(new: dict[str, tuple[str, str]], now: datetime) -> dict[str, int]:
    """Insert employer organisations (key -> (name, code)) in bulk; their ids by key.

    Japanese employers, hence country JP. The caller commits (or rolls back).
    """
    if not new:
        return {}
    rows = [{"kind": "employer", "code": code, "name": name, "country": "JP",
             "province": None, "active": True, "created_at": now}
            for name, code in new.values()]
    db.session.execute(sa.insert(Organisation.__table__), rows)
    by_code = {}
    for chunk in chunks([code for _, code in new.values()]):
        by_code.update(db.session.execute(sa.select(Organisation.code, Organisation.id)
                                          .where(Organisation.code.in_(chunk))).all())
    return {key: by_code[code] for key, (_name, code) in new.items()}
