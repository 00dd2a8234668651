"""Organisations, users, log-in with throttling."""

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from matching.extensions import db
from matching.i18n import _l
from matching.models import Organisation, User
from matching.models._common import utcnow
from matching.models.orgs import ROLE_ORG_KIND, ROLES

log = logging.getLogger(__name__)


class AccountError(ValueError):
    """A refused account change; the message is translated (lazy) and safe to show."""


@dataclass
class LoginResult:
    user: User | None
    locked_until: datetime | None = None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str) -> LoginResult:
    """Check credentials, counting failures; lock the account after too many in a row.

    A locked account refuses even the right password until the lock ends, so guessing
    gains nothing. Unknown e-mails get the same answer as wrong passwords.
    """
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    now = utcnow()
    if user is None:
        return LoginResult(None)
    if user.locked_until and user.locked_until > now:
        return LoginResult(None, locked_until=user.locked_until)
    if not user.check_password(password) or not user.is_active:
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + current_app.config["LOGIN_LOCKOUT"]
            user.failed_logins = 0
            log.warning("login locked for %s after repeated failures", user.email)
        db.session.commit()
        return LoginResult(None, locked_until=user.locked_until if user.locked_until
                           and user.locked_until > now else None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    return LoginResult(user)


def change_password(user: User, password: str) -> None:
    user.set_password(password)
    db.session.commit()


def set_user_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()


def _check_role_org(role: str, org: Organisation) -> None:
    if role not in ROLES:
        raise AccountError(_l("Unknown role."))
    if org.kind != ROLE_ORG_KIND[role]:
        raise AccountError(_l("A user with this role must belong to an organisation of the matching kind."))
    if role == "department" and not org.province:
        raise AccountError(_l("A department must have a province."))


def create_user(email: str, password: str, role: str, org: Organisation, *, name: str = "",
                locale: str | None = None) -> User:
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(_l("A user with this e-mail already exists."))
    if len(password or "") < 8:
        raise AccountError(_l("The password must have at least 8 characters."))
    _check_role_org(role, org)
    user = User(email=email, role=role, organisation=org, name=name, locale=locale or None)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    log.info("user %s created with role %s in %s", email, role, org.code)
    return user


def update_user(user: User, *, name: str, role: str, org: Organisation, active: bool,
                locale: str | None, password: str | None = None) -> User:
    _check_role_org(role, org)
    if password:
        if len(password) < 8:
            raise AccountError(_l("The password must have at least 8 characters."))
        user.set_password(password)
    user.name, user.role, user.organisation, user.active = name, role, org, active
    user.locale = locale or None
    db.session.commit()
    return user


def save_organisation(org: Organisation | None, *, kind: str, code: str, name: str,
                      country: str, province: str | None, active: bool = True) -> Organisation:
    code = code.strip().lower()
    clash = db.session.scalar(sa.select(Organisation).where(Organisation.code == code))
    if clash is not None and clash is not org:
        raise AccountError(_l("An organisation with this code already exists."))
    if kind in ("department", "school") and not province:
        raise AccountError(_l("A department or school must have a province."))
    if org is None:
        org = Organisation()
        db.session.add(org)
    org.kind, org.code, org.name, org.country = kind, code, name.strip(), country
    org.province = province or None
    org.active = active
    db.session.commit()
    return org
