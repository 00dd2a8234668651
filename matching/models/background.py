"""Background tasks (issue 11 §4): one row per task, the source of truth for its page.

The queue (RQ on Redis, or nothing: inline) only carries a task's id; what it is, who
started it, how far it got and how it ended live here, so a progress page survives a
reload and reads the same on every server.
"""

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models._common import utcnow

TASK_STATUSES = ("queued", "running", "finished", "failed")


def new_task_id() -> str:
    """A task's id: random, so one id says nothing about another task (22 characters)."""
    return secrets.token_urlsafe(16)


class BackgroundTask(db.Model):
    __tablename__ = "background_tasks"
    __table_args__ = (sa.Index("ix_background_tasks_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_task_id)
    #: What runs: "import", "train_model", "fairness", "expiry_scan" (``matching.background``).
    kind: Mapped[str] = mapped_column(sa.String(32))
    #: Who started it (sees it; admins see every task); None for the scheduler's tasks.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    #: The kind's options (JSON), e.g. an import's importer, file name and reader's locale.
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: What it found or did (JSON), for the page to show.
    result: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    #: Why it failed: a code of ``matching.background.ERRORS`` (translated when shown, never
    #: a traceback) and the values its message needs.
    error: Mapped[str | None] = mapped_column(sa.String(40))
    error_params: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True))
    #: Something the page must say, e.g. "queue_unavailable": ran inline instead.
    notice: Mapped[str | None] = mapped_column(sa.String(40))
    #: The input a retry needs (an import's file); dropped once the task has finished.
    payload: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    #: At most one task per key, e.g. "expiry_scan:2026-12-07" (the daily scan).
    unique_key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Written now and then while running: a running task whose heartbeat is old was
    #: abandoned (its worker died) and may be retried.
    heartbeat_at: Mapped[datetime | None]

    user = relationship("User", lazy="joined")

    def __repr__(self) -> str:
        return f"<BackgroundTask {self.id} {self.kind} {self.status}>"
