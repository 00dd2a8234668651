"""API tokens: create, list, revoke, and recognise a bearer token (``matching.api.auth``).

A token acts as its user: the same role and scope, read afresh on every request. It stops
working when it is revoked, when it expires, or when its user or the user's organisation is
deactivated. A password change or "log out everywhere" ends browser sessions but not API
tokens: those are separate credentials of machines (an agency's case system) that a person
revokes on the "API tokens" page, one by one, when they are no longer wanted.
"""

import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa

from matching.extensions import db
from matching.i18n import _l
from matching.models import ApiToken, Organisation, User
from matching.models._common import utcnow
from matching.models.tokens import NAME_LIMIT, TOKEN_PREFIX
from matching.operations.errors import OperationError

log = logging.getLogger(__name__)

#: The longest expiry a token may be given (days); no expiry at all is also allowed.
MAX_EXPIRY_DAYS = 3650
#: The most tokens a user may hold at once (revoked ones do not count).
MAX_TOKENS_PER_USER = 50
_RANDOM_BYTES = 32


class TokenError(OperationError):
    """A refused token change."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def user_tokens_select(user) -> sa.Select:
    """The tokens of ``user`` (revoked ones too, for the record), newest first."""
    return (sa.select(ApiToken).where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def create_token(user, name: str, expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: the stored row and the token itself, which is shown once
    and never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise TokenError(_l("Enter a name for the token."), "name")
    if len(name) > NAME_LIMIT:
        raise TokenError(_l("The name can have at most %(max)d characters.", max=NAME_LIMIT),
                         "name")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise TokenError(_l("Enter a number of days from 1 to %(max)d, or leave it blank for "
                            "no expiry.", max=MAX_EXPIRY_DAYS), "expires_days")
    active = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    if active >= MAX_TOKENS_PER_USER:
        raise TokenError(_l("You already have %(max)d tokens: revoke one you no longer use "
                            "first.", max=MAX_TOKENS_PER_USER))
    token = TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)
    now = utcnow()
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), created_at=now,
                   expires_at=now + timedelta(days=expires_days) if expires_days else None)
    db.session.add(row)
    db.session.flush()
    log.info("API token %d (%s) created for %s", row.id, name, user.email)
    return row, token


def revoke_token(user, token_id: int) -> ApiToken | None:
    """Revoke ``user``'s token ``token_id``; ``None`` when it is not one of theirs."""
    row = db.session.scalar(user_tokens_select(user).where(ApiToken.id == token_id))
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
        log.info("API token %d (%s) of %s revoked", row.id, row.name, user.email)
    return row


def user_for_token(token: str) -> User | None:
    """The active user a bearer ``token`` acts as, or ``None``; records the token's use.

    One statement finds a usable token of an active user in an active organisation and
    sets its ``last_used_at`` (``UPDATE … RETURNING``), in a short transaction of its own:
    the use is recorded even when the request then fails and rolls back, and it costs one
    round trip. The user is then loaded in the request's session.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = utcnow()
    active_users = (sa.select(User.id).join(Organisation, User.organisation_id == Organisation.id)
                    .where(User.active.is_(True), Organisation.active.is_(True)))
    t = ApiToken.__table__
    stmt = (sa.update(t)
            .where(t.c.token_hash == hash_token(token), t.c.revoked_at.is_(None),
                   sa.or_(t.c.expires_at.is_(None), t.c.expires_at > now),
                   t.c.user_id.in_(active_users))
            .values(last_used_at=now)
            .returning(t.c.user_id))
    with db.engine.begin() as connection:
        user_id = connection.execute(stmt).scalar()
    return None if user_id is None else db.session.get(User, user_id)
