"""Organisations, users, log-in and sessions (throttling: ``matching.web.auth.throttle``)."""

import hmac
import logging
import re
from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from matching.extensions import db
from matching.i18n import _l
from matching.labels import ORG_KIND_LABELS as _KIND_LABELS
from matching.labels import ROLE_LABELS as _ROLE_LABELS
from matching.models import Organisation, User
from matching.models._common import utcnow
from matching.models.orgs import ORG_KINDS, ROLE_ORG_KIND, ROLES, new_session_token
from matching.operations.errors import OperationError
from matching.timezones import is_valid_timezone
from matching.vocab import PROVINCES

#: Countries an organisation may be registered in (Vietnam sends, Japan receives).
ORG_COUNTRIES = ("VN", "JP")
#: Kinds that belong to one Vietnamese province.
PROVINCIAL_KINDS = ("department", "school")
ORG_CODE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MIN_PASSWORD_LENGTH = 8

log = logging.getLogger(__name__)


class AccountError(OperationError):
    """A refused account or organisation change (``field``: ``"organisation"``,
    ``"code"``...)."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``; records the time of a success.

    Failures change nothing in the database: throttling is per (address, client IP) in
    ``matching.web.auth.throttle``, so nobody can lock another person's account by
    guessing. Unknown e-mails get the same answer, in the same time, as wrong passwords.
    """
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        # Spend the same time as a real check, so response times do not reveal which
        # e-mails have an account.
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    user.last_login_at = utcnow()
    db.session.flush()
    return user


@cache
def _dummy_hash() -> str:
    return generate_password_hash("no account has this password")


def load_session_user(session_id: str) -> User | None:
    """The user a session or remember-me cookie names, if its session token is still current."""
    user_id, _, token = (session_id or "").partition(":")
    # A bound on the digits keeps the id within a 64-bit integer (a forged or old cookie).
    if not (user_id.isdigit() and len(user_id) <= 18 and token):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Rotate the user's session token: every session and remember-me cookie ends."""
    user.session_token = new_session_token()
    log.info("all sessions of %s ended", user.email)


def change_password(user: User, password: str) -> None:
    """Set a new password and end every session (the caller logs the current one back in)."""
    user.set_password(password)
    end_all_sessions(user)
    db.session.flush()


def set_user_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.flush()


def _check_timezone(timezone: str | None) -> None:
    if timezone and not is_valid_timezone(timezone):
        raise AccountError(_l("“%(zone)s” is not a known time zone; choose one from the list.",
                              zone=timezone[:64]), field="timezone")


def set_preferences(user: User, *, locale: str | None, timezone: str | None) -> User:
    """A user's own language and time zone (``None``: the browser's language, the
    organisation's zone). Flushes; the request commits."""
    _check_timezone(timezone)
    user.locale = locale or None
    user.timezone = timezone or None
    db.session.flush()
    log.info("preferences of %s: locale %s, time zone %s", user.email, user.locale,
             user.timezone)
    return user


def _check_role_org(role: str, org: Organisation) -> None:
    if role not in ROLES:
        raise AccountError(_l("Unknown role."), field="role")
    if org.kind != ROLE_ORG_KIND[role]:
        raise AccountError(
            _l("A user with the role “%(role)s” must belong to an organisation of the kind "
               "“%(kind)s”.", role=_ROLE_LABELS[role], kind=_KIND_LABELS[ROLE_ORG_KIND[role]]),
            field="organisation")
    if role == "department" and not org.province:
        raise AccountError(_l("The chosen labour department has no province."),
                           field="organisation")


def check_new_password(password: str | None) -> None:
    """The site's password rules (a user's form, a worker's first password)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("The password must have at least 8 characters."),
                           field="password")


def create_user(email: str, password: str, role: str, org: Organisation, *, name: str = "",
                locale: str | None = None, timezone: str | None = None) -> User:
    """Validate and create a user; raises ``AccountError`` (with its field) when refused."""
    email = normalise_email(email)
    if "@" not in email.strip("@"):
        raise AccountError(_l("Enter a valid e-mail address."), field="email")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(_l("A user with this e-mail already exists."), field="email")
    check_new_password(password)
    _check_role_org(role, org)
    _check_timezone(timezone)
    user = User(email=email, role=role, organisation=org, name=name, locale=locale or None,
                timezone=timezone or None)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    log.info("user %s created with role %s in %s", email, role, org.code)
    return user


def update_user(user: User, *, name: str, role: str, org: Organisation, active: bool,
                locale: str | None, password: str | None = None,
                actor: User | None = None, timezone: str | None = None) -> User:
    """Change a user's profile, role, organisation, status and (optionally) password.

    ``actor`` is the administrator making the change: nobody may deactivate or demote
    themselves, which would lock the last administrator out by a slip of the mouse.
    """
    if actor is not None and actor.id == user.id:
        if not active:
            raise AccountError(_l("You cannot deactivate your own account."), field="active")
        if user.role == "admin" and role != "admin":
            raise AccountError(_l("You cannot remove your own administrator role."),
                               field="role")
    _check_role_org(role, org)
    _check_timezone(timezone)
    if password:
        check_new_password(password)
        user.set_password(password)
    if password or (user.active and not active):
        # Whoever knew the old password, or a deactivated account, keeps no open session,
        # and no remember-me cookie works again after a later reactivation.
        end_all_sessions(user)
    user.name, user.role, user.organisation, user.active = name.strip(), role, org, active
    user.locale = locale or None
    user.timezone = timezone or None  # None: the organisation's zone
    db.session.flush()
    return user


def save_organisation(org: Organisation | None, *, kind: str, code: str, name: str,
                      country: str, province: str | None, active: bool = True,
                      actor: User | None = None) -> Organisation:
    """Create (``org=None``) or update an organisation; raises ``AccountError`` when refused.

    The province is kept only for departments and schools. ``actor`` may not deactivate
    the organisation they log in through.
    """
    code = (code or "").strip().lower()
    if kind not in ORG_KINDS:
        raise AccountError(_l("Unknown organisation kind."), field="kind")
    if not ORG_CODE_RE.match(code):
        raise AccountError(_l("Use only lower-case letters, digits and hyphens in the code."),
                           field="code")
    clash = db.session.scalar(sa.select(Organisation).where(Organisation.code == code))
    if clash is not None and clash is not org:
        raise AccountError(_l("An organisation with this code already exists."), field="code")
    if not (name or "").strip():
        raise AccountError(_l("The organisation's name is required."), field="name")
    if country not in ORG_COUNTRIES:
        raise AccountError(_l("Unknown country."), field="country")
    if kind in PROVINCIAL_KINDS:
        if not province:
            raise AccountError(_l("A department or school must have a province."),
                               field="province")
        if province not in PROVINCES:
            raise AccountError(_l("Unknown province."), field="province")
    else:
        province = None
    if org is not None:
        _check_kind_change(org, kind)
        if actor is not None and not active and actor.organisation_id == org.id:
            raise AccountError(_l("You cannot deactivate the organisation you log in through."),
                               field="active")
    if org is None:
        org = Organisation()
        db.session.add(org)
    org.kind, org.code, org.name, org.country = kind, code, name.strip(), country
    org.province = province or None
    org.active = active
    db.session.flush()
    return org


def _check_kind_change(org: Organisation, kind: str) -> None:
    """Refuse a new kind that no longer fits the roles of the organisation's users."""
    if kind == org.kind:
        return
    roles = db.session.scalars(
        sa.select(User.role).where(User.organisation_id == org.id).distinct()).all()
    for role in roles:
        if ROLE_ORG_KIND.get(role) != kind:
            raise AccountError(
                _l("This organisation has users with the role “%(role)s”, which needs the "
                   "kind “%(kind)s”.", role=_ROLE_LABELS[role],
                   kind=_KIND_LABELS[ROLE_ORG_KIND[role]]),
                field="kind")
