"""Skill slugs: find or create many at once (imports and forms share this), the aliases
admins mapped, and the mapping of a custom skill onto the vocabulary."""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from matching.extensions import db
from matching.i18n import _l
from matching.models import JobOrder, Skill, SkillAlias, Trainee, trainee_skills
from matching.models._common import utcnow
from matching.models.registry import next_version as next_registry_version
from matching.operations.errors import OperationError
from matching.vocab.skills import SKILLS, custom_skills, parse_skills, skill_key

log = logging.getLogger(__name__)


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


# -- the vocabulary grows from real files: custom skills mapped onto it ----------------------


class SkillMappingError(OperationError):
    """A refused mapping of a custom skill (nothing was written)."""


def skill_aliases() -> dict[str, str]:
    """The aliases admins mapped (``SkillAlias``), by ``skill_key``: ``parse_skills``' extra
    names. One small query; an import or a form reads it once."""
    rows = db.session.execute(sa.select(SkillAlias.alias, SkillAlias.slug)).all()
    return {skill_key(alias): slug for alias, slug in rows}


@dataclass(frozen=True)
class CustomSkillUse:
    slug: str
    trainees: int
    job_orders: int


def resolve_skills(cell: str | None) -> list[str]:
    """``parse_skills`` with the admins' aliases, read only when the vocabulary alone leaves
    a custom skill (a form of vocabulary skills costs no query)."""
    slugs = parse_skills(cell)
    return parse_skills(cell, skill_aliases()) if custom_skills(slugs) else slugs


def custom_skills_in_use() -> list[CustomSkillUse]:
    """Every skill outside the vocabulary held by a trainee or a job order, with how many
    hold it, the most used first."""
    trainee_counts = dict(db.session.execute(
        sa.select(Skill.slug, sa.func.count(trainee_skills.c.trainee_id))
        .join(trainee_skills, trainee_skills.c.skill_id == Skill.id)
        .group_by(Skill.slug)).all())
    job_counts: Counter[str] = Counter()
    for required, preferred in db.session.execute(
            sa.select(JobOrder.required_skills, JobOrder.preferred_skills)):
        held = {s for s in (required or "").split(";") + (preferred or "").split(";") if s}
        job_counts.update(held)
    uses = [CustomSkillUse(slug, trainee_counts.get(slug, 0), job_counts.get(slug, 0))
            for slug in set(trainee_counts) | set(job_counts) if slug not in SKILLS]
    return sorted(uses, key=lambda u: (-(u.trainees + u.job_orders), u.slug))


def map_custom_skill(custom: str, code: str, user=None) -> tuple[int, int]:
    """Make the custom skill ``custom`` an alias of the vocabulary skill ``code`` and move
    everything holding it there: trainees' links, job orders' required and preferred lists.
    Flushes; the caller commits, so the alias and the moves are one transaction. Returns
    (trainees changed, job orders changed)."""
    if code not in SKILLS:
        raise SkillMappingError(_l("Choose a skill from the vocabulary."), "code", "invalid")
    if not custom or custom in SKILLS:
        raise SkillMappingError(_l("This skill is already in the vocabulary."), "custom",
                                "invalid")
    if db.session.scalar(sa.select(SkillAlias.id).where(SkillAlias.alias == custom)):
        raise SkillMappingError(_l("This skill has already been mapped."), "custom", "stale")
    db.session.add(SkillAlias(alias=custom, slug=code,
                              created_by_id=getattr(user, "id", None)))
    trainees = _move_trainee_links(custom, code)
    jobs = _rewrite_job_orders(custom, code)
    db.session.flush()
    log.info("skill %r mapped onto %r by %s: %d trainee(s), %d job order(s)", custom, code,
             getattr(user, "email", None), trainees, jobs)
    return trainees, jobs


def _move_trainee_links(custom: str, code: str) -> int:
    old_id = db.session.scalar(sa.select(Skill.id).where(Skill.slug == custom))
    if old_id is None:
        return 0
    new_id = ensure_skill_ids([code])[code]
    holders = list(db.session.scalars(
        sa.select(trainee_skills.c.trainee_id).where(trainee_skills.c.skill_id == old_id)))
    if holders:
        # The registry version first (lock order, models.registry), then the rows.
        version = next_registry_version()
        has_new = set()
        for chunk in _chunks(holders):
            has_new.update(db.session.scalars(sa.select(trainee_skills.c.trainee_id).where(
                trainee_skills.c.skill_id == new_id, trainee_skills.c.trainee_id.in_(chunk))))
        for chunk in _chunks(sorted(has_new)):
            db.session.execute(sa.delete(trainee_skills).where(
                trainee_skills.c.skill_id == old_id, trainee_skills.c.trainee_id.in_(chunk)))
        db.session.execute(sa.update(trainee_skills).where(trainee_skills.c.skill_id == old_id)
                           .values(skill_id=new_id))
        for chunk in _chunks(holders):
            db.session.execute(sa.update(Trainee).where(Trainee.id.in_(chunk))
                               .values(registry_version=version, updated_at=utcnow())
                               .execution_options(synchronize_session=False))
    db.session.execute(sa.delete(Skill).where(Skill.id == old_id))
    # Trainees already loaded in this session must not keep the old Skill object.
    db.session.expire_all()
    return len(holders)


def _rewrite_job_orders(custom: str, code: str) -> int:
    pattern = f"%{custom}%"
    jobs = db.session.scalars(sa.select(JobOrder).where(sa.or_(
        JobOrder.required_skills.like(pattern), JobOrder.preferred_skills.like(pattern)))).all()
    changed = 0
    for job in jobs:
        required = _replaced(job.required_skills, custom, code)
        preferred = _replaced(job.preferred_skills, custom, code)
        if (required, preferred) != (job.required_skills, job.preferred_skills):
            job.required_skills, job.preferred_skills = required, preferred
            changed += 1
    return changed


def _replaced(joined: str, custom: str, code: str) -> str:
    slugs = [code if s == custom else s for s in (joined or "").split(";") if s]
    return ";".join(dict.fromkeys(slugs))


def _chunks(items: list, size: int = 900):
    for start in range(0, len(items), size):
        yield items[start:start + size]
