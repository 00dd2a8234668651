"""Log-in throttling with Flask-Limiter: failed attempts are counted, accounts never locked.

Two counters, both fed only by failed log-ins: one per (e-mail address, client IP), so a
guesser is slowed down on one address without locking its owner out from anywhere else, and
one per client IP across addresses, against trying one password on many addresses. Unknown
and known addresses are counted and answered alike, so the answer reveals nothing. The
limits are read from the configuration at each request (``LOGIN_LIMITS_PER_ADDRESS``,
``LOGIN_LIMITS_PER_IP``); several limits in one string give growing delays
("5 per minute; 20 per hour" waits a minute, then an hour).
"""

import hashlib

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from matching.operations.accounts import normalise_email


def per_address() -> str:
    return current_app.config["LOGIN_LIMITS_PER_ADDRESS"]


def per_ip() -> str:
    return current_app.config["LOGIN_LIMITS_PER_IP"]


def address_and_ip() -> str:
    """The counter key of one (address, client IP) pair; the address only as a digest, so
    the counter store holds no e-mail addresses."""
    address = normalise_email(request.form.get("email", ""))
    return hashlib.sha256(address.encode()).hexdigest()[:32] + "@" + get_remote_address()


def count_failure() -> None:
    """Make this request count against the log-in limits (see ``failed``)."""
    g.login_failed = True


def failed(_response) -> bool:
    """Flask-Limiter's ``deduct_when``: only failed log-ins use up the allowance."""
    return g.get("login_failed", False)
