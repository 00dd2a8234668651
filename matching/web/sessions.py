"""The log-in session after the user's own password change (the log-in pages and the
administrator's user form both change passwords)."""

from flask import current_app, request, session
from flask_login import login_user


def remembered() -> bool:
    """Whether this browser holds (or is about to receive) a remember-me cookie."""
    cookie_name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return cookie_name in request.cookies or session.get("_remember") == "set"


def log_back_in(user) -> None:
    """After the user's own password change: the new token ended this session as well, so
    start it again (with a new remember-me cookie if this browser had one)."""
    login_user(user, remember=remembered())
