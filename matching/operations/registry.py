"""The trainee registry: register and edit trainees, record their language certificates.

Every function validates what the form layer cannot know (uniqueness, scope), writes,
commits and returns the object. A refused change raises ``RegistryError`` whose message is
translated (lazy) and safe to show; ``field`` names the form field it belongs to, if any.
"""

import logging
import re
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from matching import access
from matching.extensions import db
from matching.i18n import _l, _lp
from matching.models import GENDERS, TRAINEE_STATUSES, LanguageCertificate, Skill, Trainee
from matching.models._common import utcnow
from matching.operations.errors import OperationError
from matching.operations.skills import ensure_skill_ids, resolve_skills
from matching.vocab import FIELDS, PREFECTURES, PROVINCES, fold, japanese_rank
from matching.vocab.languages import (
    CERTIFICATE_LANGUAGES,
    CERTIFICATE_TESTS,
    certificate_rank,
    jtest_grade,
    parse_japanese_level,
)

log = logging.getLogger(__name__)

#: The trainee attributes a form (or any caller) may set directly.
_PLAIN_FIELDS = ("full_name", "name_kana", "date_of_birth", "gender", "school", "field",
                 "training_hours", "experience_years", "available_from", "email", "phone",
                 "consent")

#: Tests that only exist for one language; CEFR certifies any language.
_TEST_LANGUAGE = {"JLPT": "ja", "JFT-Basic": "ja", "NAT-TEST": "ja", "J.TEST": "ja",
                  "TOPIK": "ko", "EPS-TOPIK": "ko"}
_JLPT_LEVELS = ("N1", "N2", "N3", "N4", "N5")
_CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
#: Sizes of the columns (the forms' Length validators say the same, with the same messages).
EXTERNAL_ID_LIMIT = 64
SKILL_LIMIT = 80
LEVEL_LIMIT = 16


class RegistryError(OperationError):
    """A refused registry change."""


# -- trainees ------------------------------------------------------------------------------


def create_trainee(data: Mapping, user) -> Trainee:
    """Register a trainee from cleaned ``data`` (form or import), in ``user``'s scope."""
    if not access.can_register_trainees(user):
        raise RegistryError(_l("Your account cannot register trainees."))
    province = _target_province(data, user, current=None)
    external_id = _clean_external_id(data.get("external_id"))
    _check_unique(province, external_id, exclude_id=None)
    trainee = Trainee(province=province, external_id=external_id, status="available",
                      created_by_id=user.id, updated_by_id=user.id)
    with _rollback_on_error(), db.session.no_autoflush:
        _apply(trainee, data)
        db.session.add(trainee)
    _flush(province, external_id)
    log.info("trainee %s/%s registered by %s", province, external_id, user.email)
    return trainee


def update_trainee(trainee: Trainee, data: Mapping, user) -> Trainee:
    """Apply cleaned ``data`` to ``trainee``; an admin may also move it to another province."""
    if not access.can_edit_trainee(user, trainee):
        raise RegistryError(_l("Your account cannot edit this trainee."))
    province = _target_province(data, user, current=trainee.province)
    external_id = _clean_external_id(data.get("external_id", trainee.external_id))
    # Checked before any attribute changes: an autoflush must never hit the constraint.
    _check_unique(province, external_id, exclude_id=trainee.id)
    status = data.get("status") or trainee.status
    if status not in TRAINEE_STATUSES:
        raise RegistryError(_l("Choose a valid status."), "status")
    with _rollback_on_error(), db.session.no_autoflush:
        trainee.province, trainee.external_id, trainee.status = province, external_id, status
        trainee.updated_by_id = user.id
        _apply(trainee, data)
    _flush(province, external_id)
    log.info("trainee %s/%s updated by %s", province, external_id, user.email)
    return trainee


@contextmanager
def _rollback_on_error():
    """Half-applied changes must not linger in the session (a later autoflush would write)."""
    try:
        yield
    except RegistryError:
        db.session.rollback()
        raise


def _target_province(data: Mapping, user, current: str | None) -> str:
    """The province to store: a department's own, never one taken from the request."""
    wanted = data.get("province") or current
    if user.role == "department":
        if wanted and wanted != user.province:
            raise RegistryError(
                _l("A department can only register trainees of its own province."), "province")
        return user.province
    if wanted not in PROVINCES:
        raise RegistryError(_l("Choose a province from the list."), "province")
    return wanted


def _clean_external_id(value) -> str:
    external_id = (value or "").strip()
    if not external_id:
        raise RegistryError(_l("Enter the trainee's ID."), "external_id")
    if len(external_id) > EXTERNAL_ID_LIMIT:
        raise RegistryError(_lp("trainee", "The ID can have at most %(max)d characters.",
                                max=EXTERNAL_ID_LIMIT), "external_id")
    return external_id


def _check_unique(province: str, external_id: str, exclude_id: int | None) -> None:
    stmt = sa.select(Trainee.id).where(Trainee.province == province,
                                       Trainee.external_id == external_id)
    if exclude_id is not None:
        stmt = stmt.where(Trainee.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise _duplicate_error()


def _duplicate_error() -> RegistryError:
    return RegistryError(_l("Another trainee of this province already has this ID."),
                         "external_id")


def _flush(province: str, external_id: str) -> None:
    """Write now, so that the database's unique key decides (the request commits)."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two people saving the same ID at the same moment: the constraint decides.
        db.session.rollback()
        log.info("duplicate trainee %s/%s refused by the database", province, external_id)
        raise _duplicate_error() from exc


def _apply(trainee: Trainee, data: Mapping) -> None:
    """Copy the plain attributes, then derive the folded name, skills and language rank."""
    for name in _PLAIN_FIELDS:
        if name in data:
            setattr(trainee, name, data[name])
    full_name = " ".join((trainee.full_name or "").split())
    if not full_name:
        raise RegistryError(_l("Enter the trainee's full name."), "full_name")
    trainee.full_name = full_name
    trainee.name_folded = fold(full_name)
    trainee.name_kana = (trainee.name_kana or "").strip() or None
    trainee.school = (trainee.school or "").strip() or None
    trainee.email = (trainee.email or "").strip().lower() or None
    trainee.phone = (trainee.phone or "").strip() or None
    trainee.gender = trainee.gender or None
    if trainee.gender is not None and trainee.gender not in GENDERS:
        raise RegistryError(_l("Choose a valid gender."), "gender")
    if trainee.field not in FIELDS:
        raise RegistryError(_l("Choose a field from the list."), "field")
    if not isinstance(trainee.date_of_birth, date):
        raise RegistryError(_l("Enter a valid date of birth."), "date_of_birth")
    trainee.training_hours = int(trainee.training_hours or 0)
    if isinstance(trainee.experience_years, Decimal):
        trainee.experience_years = float(trainee.experience_years)
    trainee.experience_years = trainee.experience_years or 0.0
    if "japanese_level" in data:
        level = parse_japanese_level(data["japanese_level"])
        if level is None:
            raise RegistryError(_l("Choose a Japanese level from the list."), "japanese_level")
        trainee.japanese_level = level
    if "preferred_prefectures" in data:
        trainee.preferred_prefectures = _join_prefectures(data["preferred_prefectures"])
    if "skills" in data:
        skills = _skills(data["skills"])
        if [s.slug for s in skills] != trainee.skill_slugs:
            trainee.skills = skills
            # A change of skills alone touches no trainees column, so onupdate would not fire;
            # the ranking pool's cache key relies on updated_at moving.
            trainee.updated_at = utcnow()
    refresh_language_rank(trainee)


def _join_prefectures(codes) -> str:
    if isinstance(codes, str):
        codes = codes.split(";")
    unique = list(dict.fromkeys(c.strip() for c in codes or () if c and c.strip()))
    unknown = [c for c in unique if c not in PREFECTURES]
    if unknown:
        raise RegistryError(_l("Choose prefectures from the list."), "preferred_prefectures")
    return ";".join(unique)


def _skills(value: str | Iterable[str]) -> list[Skill]:
    slugs = resolve_skills(value if isinstance(value, str) else ";".join(value or ()))
    if any(len(s) > SKILL_LIMIT for s in slugs):
        raise RegistryError(_l("A skill can have at most %(max)d characters.",
                               max=SKILL_LIMIT), "skills")
    ids = ensure_skill_ids(slugs)
    if not ids:
        return []
    found = db.session.scalars(sa.select(Skill).where(Skill.id.in_(ids.values()))).all()
    return sorted(found, key=lambda s: s.slug)


def refresh_language_rank(trainee: Trainee) -> None:
    """The best of the declared Japanese level and the trainee's Japanese certificates."""
    ranks = [japanese_rank(trainee.japanese_level)]
    ranks += [c.cefr_rank or 0 for c in trainee.certificates if c.language == "ja"]
    trainee.language_rank = max(ranks)


# -- language certificates -----------------------------------------------------------------


def add_certificate(trainee: Trainee, data: Mapping, user) -> LanguageCertificate:
    """Record a language certificate and raise the trainee's rank if it certifies more."""
    if not access.can_edit_trainee(user, trainee):
        raise RegistryError(_l("Your account cannot edit this trainee."))
    language, test = data.get("language"), data.get("test")
    if language not in CERTIFICATE_LANGUAGES:
        raise RegistryError(_l("Choose a language from the list."), "language")
    if test not in CERTIFICATE_TESTS:
        raise RegistryError(_l("Choose a test from the list."), "test")
    if _TEST_LANGUAGE.get(test, language) != language:
        raise RegistryError(_l("This test does not certify the chosen language."), "test")
    level = _certificate_level(test, (data.get("level") or "").strip())
    score = data.get("score")
    if not level and score is None:
        raise RegistryError(_l("Enter the level or the score."), "level")
    issued_on, expires_on = data.get("issued_on"), data.get("expires_on")
    if issued_on and expires_on and expires_on < issued_on:
        raise RegistryError(_l("The expiry date cannot be before the issue date."), "expires_on")
    cert = LanguageCertificate(
        language=language, test=test, level=level or None, score=score,
        issued_on=issued_on, expires_on=expires_on,
        cefr_rank=certificate_rank(test, level) if level else 0,
    )
    trainee.certificates.append(cert)
    trainee.updated_by_id = user.id
    refresh_language_rank(trainee)
    db.session.flush()
    log.info("certificate %s %s added to trainee %s by %s", test, level, trainee.id, user.email)
    return cert


def _certificate_level(test: str, level: str) -> str:
    """Canonical level for the tests with a fixed scale; other tests keep what was typed."""
    if not level:
        return ""
    if len(level) > LEVEL_LIMIT:
        raise RegistryError(_l("The level can have at most %(max)d characters.",
                               max=LEVEL_LIMIT), "level")
    if test == "JLPT":
        code = parse_japanese_level(level)
        if code not in _JLPT_LEVELS:
            raise RegistryError(_l("A JLPT level is one of N5, N4, N3, N2 or N1."), "level")
        return code
    if test == "CEFR":
        code = level.upper()
        if code not in _CEFR_LEVELS:
            raise RegistryError(_l("A CEFR level is one of A1, A2, B1, B2, C1 or C2."), "level")
        return code
    if test == "NAT-TEST":
        code = level.upper().replace(" ", "")
        if not re.fullmatch(r"[1-5]Q", code):
            raise RegistryError(_l("A NAT-TEST grade is one of 5Q, 4Q, 3Q, 2Q or 1Q."), "level")
        return code
    if test == "JFT-Basic":
        # JFT-Basic has one pass mark, which certifies A2.
        if level.upper() != "A2":
            raise RegistryError(_l("A JFT-Basic pass certifies level A2."), "level")
        return "A2"
    if test == "J.TEST":
        grade = jtest_grade(level)
        if grade is None:
            raise RegistryError(_l("A J.TEST grade is one of 特A, A, 準A, B, 準B, C, 準C, D, "
                                   "準D, E or F."), "level")
        return grade
    if test == "TOPIK":
        if level not in ("1", "2", "3", "4", "5", "6"):
            raise RegistryError(_l("A TOPIK level is a number from 1 to 6."), "level")
        return level
    return level


def delete_certificate(trainee: Trainee, cert: LanguageCertificate, user) -> None:
    """Remove one of ``trainee``'s certificates and recompute the trainee's rank."""
    if not access.can_edit_trainee(user, trainee):
        raise RegistryError(_l("Your account cannot edit this trainee."))
    if cert.trainee_id != trainee.id:
        raise RegistryError(_l("This certificate belongs to another trainee."))
    trainee.certificates.remove(cert)
    trainee.updated_by_id = user.id
    refresh_language_rank(trainee)
    db.session.flush()
    log.info("certificate %s removed from trainee %s by %s", cert.id, trainee.id, user.email)
