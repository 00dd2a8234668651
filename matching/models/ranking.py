"""Stored ranking models: one row per version, append-only (DESIGN §5, §9)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from matching.extensions import db
from matching.models._common import utcnow


class ModelVersion(db.Model):
    """A trained (or rolled-back-to) model; the highest version is the one in use.

    ``payload`` is the model as JSON (``LinearModel.to_dict``), the same document the
    export format (``ranking.store.ModelStore`` files) holds under ``"model"``.
    """

    __tablename__ = "model_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    rolled_back_from: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(16))
    payload: Mapped[str] = mapped_column(sa.Text)
