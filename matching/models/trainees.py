"""Trainees, their skills and language certificates."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models._common import utcnow

TRAINEE_STATUSES = ("available", "in_process", "deployed", "returned", "withdrawn")
GENDERS = ("F", "M", "X")

trainee_skills = sa.Table(
    "trainee_skills",
    db.metadata,
    sa.Column("trainee_id", sa.ForeignKey("trainees.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("skill_id", sa.ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_trainee_skills_skill_id", "skill_id"),
)


class Skill(db.Model):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)

    def __repr__(self) -> str:
        return f"<Skill {self.slug}>"


class SkillAlias(db.Model):
    """A name seen in real files, mapped by an admin onto a vocabulary skill (``slug``).

    ``alias`` is folded (no diacritics, lower case), as imports look it up.
    """

    __tablename__ = "skill_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    alias: Mapped[str] = mapped_column(sa.String(120), unique=True)
    slug: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


def eligible() -> sa.ColumnElement[bool]:
    """Who may be shown to employers, hence ranked: available and consenting (DESIGN §5)."""
    return sa.and_(Trainee.status == "available", Trainee.consent.is_(True))


class Trainee(db.Model):
    __tablename__ = "trainees"
    __table_args__ = (
        # The department's own ID is unique within its province (DESIGN §2).
        sa.UniqueConstraint("province", "external_id", name="uq_trainees_province_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    #: Diacritics-free, lower-case copy of full_name for search ("nguyen van an").
    name_folded: Mapped[str] = mapped_column(sa.String(200), index=True)
    #: Katakana reading for the Japanese résumé, when the department enters one.
    name_kana: Mapped[str | None] = mapped_column(sa.String(200))
    date_of_birth: Mapped[date]
    gender: Mapped[str | None] = mapped_column(sa.String(1))
    province: Mapped[str] = mapped_column(sa.String(32), index=True)
    school: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    field: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: Declared Japanese level (canonical code) and its CEFR rank, kept together.
    japanese_level: Mapped[str] = mapped_column(sa.String(8), default="none")
    language_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=0, index=True)
    training_hours: Mapped[int] = mapped_column(default=0)
    experience_years: Mapped[float] = mapped_column(default=0.0)
    #: Preferred Japanese prefectures as a ";"-joined list of codes.
    preferred_prefectures: Mapped[str] = mapped_column(sa.String(500), default="")
    available_from: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    consent: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="available", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Indexed: the ranking pool's cache key reads max(updated_at) on every ranking.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: The registry version of this row's last change (``models.registry``): the ranking
    #: pool of version V reads only the rows above V.
    registry_version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0",
                                                  index=True)

    skills: Mapped[list[Skill]] = relationship(secondary=trainee_skills, order_by=Skill.slug)
    certificates: Mapped[list["LanguageCertificate"]] = relationship(
        back_populates="trainee", cascade="all, delete-orphan",
        order_by="LanguageCertificate.issued_on",
    )

    @property
    def skill_slugs(self) -> list[str]:
        return [s.slug for s in self.skills]

    @property
    def prefecture_codes(self) -> list[str]:
        return [p for p in self.preferred_prefectures.split(";") if p]

    def __repr__(self) -> str:
        return f"<Trainee {self.province}/{self.external_id}>"


class LanguageCertificate(db.Model):
    __tablename__ = "language_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(sa.String(2), default="ja")
    test: Mapped[str] = mapped_column(sa.String(16))
    level: Mapped[str | None] = mapped_column(sa.String(16))
    score: Mapped[int | None]
    issued_on: Mapped[date | None]
    expires_on: Mapped[date | None]
    #: Derived CEFR rank (0 none, 1 A1 ... 6 C2).
    cefr_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=0)

    trainee: Mapped[Trainee] = relationship(back_populates="certificates")
