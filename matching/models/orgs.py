"""Organisations and the people who log in for them."""

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from matching.extensions import db
from matching.models._common import utcnow

ORG_KINDS = ("platform", "department", "school", "employer", "agency")
ROLES = ("admin", "department", "employer", "agency")
#: Which organisation kind each role must belong to.
ROLE_ORG_KIND = {"admin": "platform", "department": "department", "employer": "employer",
                 "agency": "agency", "worker": "department"}
#: A worker logs in to see their own record (issue 13 §3). Not among ``ROLES``: nobody
#: creates one by hand; the department invites the trainee (``operations.workers``), and
#: the account belongs to that department's organisation.
WORKER = "worker"


def new_session_token() -> str:
    return secrets.token_hex(16)


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(2), default="VN")
    #: For a department (and a school) the current province code it belongs to.
    province: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.code} ({self.kind})>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(20))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    #: The IANA zone this user reads times in; None: the organisation's default.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Unused since log-in throttling moved to Flask-Limiter (no account is ever locked);
    # kept until a migration drops them.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A per-user secret carried by every session and remember-me cookie: rotating it
    #: (password change, "log out everywhere") ends them all.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    #: A worker's own trainee record (role ``worker`` only): one account per trainee.
    #: ``use_alter``: trainees point back at users (created_by), and the cycle must not
    #: stop SQLAlchemy from ordering the tables.
    trainee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE", use_alter=True), unique=True)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    def get_id(self) -> str:
        """What every session and remember-me cookie stores: the id and the session token.

        Flask-Login's alternative id: ``load_session_user`` accepts the pair only while the
        token is current, so rotating it ends every session at once.
        """
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active and (self.organisation is None or self.organisation.active)

    @property
    def province(self) -> str | None:
        return self.organisation.province if self.organisation else None

    def __repr__(self) -> str:
        return f"<User {self.email} ({self.role})>"
