"""Impressions: which candidate cards an employer was shown, at which rank, and opened.

The ranking model learns from decisions; impressions tell a candidate passed over from one
never shown (position bias) and let exposure be measured. So reloads must not inflate
them: a card already recorded for the same (job order, trainee, user) within
``REPEAT_AFTER`` is not recorded again. Only employers' views are recorded (an
administrator looking at the page is not a judgement).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Impression, JobOrder
from matching.models._common import utcnow

#: A card shown again within this time is the same impression (a reload, a page back).
REPEAT_AFTER = timedelta(hours=1)


def record_impressions(job: JobOrder, user, cards: Iterable[Mapping], *,
                       now: datetime | None = None) -> int:
    """Record the ``cards`` (``rank_job`` items: trainee_id, rank, score, explanation) shown
    to ``user`` for ``job``; returns how many rows were written.

    Two statements whatever the number of cards: one SELECT of the recent impressions, one
    executemany INSERT of the rest.
    """
    cards = list(cards)
    if not cards or user is None or user.role != "employer":
        return 0
    now = now or utcnow()
    ids = [int(card["trainee_id"]) for card in cards]
    recent = set(db.session.scalars(
        sa.select(Impression.trainee_id).where(
            Impression.job_order_id == job.id, Impression.user_id == user.id,
            Impression.trainee_id.in_(ids), Impression.shown_at > now - REPEAT_AFTER)))
    rows = [{"job_order_id": job.id, "trainee_id": int(card["trainee_id"]),
             "user_id": user.id, "rank": int(card["rank"]), "score": float(card["score"]),
             "model_version": (card.get("explanation") or {}).get("model_version"),
             "shown_at": now}
            for card in cards if int(card["trainee_id"]) not in recent]
    if rows:
        db.session.execute(sa.insert(Impression), rows)  # the request commits
    return len(rows)


def mark_opened(job: JobOrder, trainee_id: int, user, *, now: datetime | None = None) -> bool:
    """Note that ``user`` opened the candidate's details: sets ``opened_at`` on the latest
    impression of the pair, if it has none yet (the first opening counts). Returns whether
    a row changed; without an impression (a bookmarked link) nothing is recorded."""
    if user is None or user.role != "employer":
        return False
    latest = (sa.select(Impression.id)
              .where(Impression.job_order_id == job.id, Impression.trainee_id == trainee_id,
                     Impression.user_id == user.id)
              .order_by(Impression.shown_at.desc(), Impression.id.desc())
              .limit(1).scalar_subquery())
    result = db.session.execute(
        sa.update(Impression).where(Impression.id == latest, Impression.opened_at.is_(None))
        .values(opened_at=now or utcnow()).execution_options(synchronize_session=False))
    return result.rowcount > 0
