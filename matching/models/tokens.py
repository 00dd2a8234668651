"""API tokens: a user's named credentials for the JSON API (``matching.api``).

Only the SHA-256 of a token is stored. A token is 32 random bytes (256 bits) in URL-safe
base64 behind the recognisable prefix ``mtk_`` (secret scanners and people can tell what it
is), so a fast hash is enough: nothing about it can be guessed or brute-forced, and the
lookup is one indexed equality.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models._common import utcnow
from matching.models.orgs import User

#: What every token starts with.
TOKEN_PREFIX = "mtk_"
NAME_LIMIT = 100


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_LIMIT))
    #: Hex SHA-256 of the whole token (prefix included).
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set by every authenticated request (one UPDATE, committed on its own).
    last_used_at: Mapped[datetime | None]
    #: None: never expires.
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.name!r} of user {self.user_id}>"
