"""Skill slugs: find or create many at once (imports and forms share this)."""

from collections.abc import Iterable

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Skill


def ensure_skill_ids(slugs: Iterable[str]) -> dict[str, int]:
    """Map each (already normalised) slug to its Skill id, inserting the missing ones in bulk."""
    wanted = set(slugs)
    if not wanted:
        return {}
    found = _select_ids(wanted)
    missing = wanted - found.keys()
    if missing:
        db.session.execute(sa.insert(Skill), [{"slug": s} for s in sorted(missing)])
        found.update(_select_ids(missing))
    return found


def _select_ids(slugs: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    ordered = sorted(slugs)
    # Chunked IN lists stay below every database's bound-parameter limit.
    for start in range(0, len(ordered), 900):
        chunk = ordered[start:start + 900]
        out.update(db.session.execute(
            sa.select(Skill.slug, Skill.id).where(Skill.slug.in_(chunk))).all())
    return out
