"""When the database cannot be reached: a 503 answer at once, and back by itself after.

A database that restarts, fails over or drops off the network makes the driver raise
(connection refused, connection closed, connect timeout, pool exhausted). Each such request
answers **503 Service Unavailable** with ``Retry-After``: the translated error page, or a
problem document (RFC 9457) under ``/api/``; no traceback, nothing of the error shown. The
engine's limits (``matching.config.engine_options``: connect timeout, pool timeout,
pre-ping) keep that answer quick, so no worker hangs on a dead server, and the next request
after the database is back is served normally: the pool tests each connection before use and
replaces the dead ones, no restart needed.

The page is drawn without touching the database: the request's transaction is rolled back
without raising, and the visitor is treated as anonymous for the rest of the request (the
header would otherwise load the user and their organisation again). The language stays the
one already chosen for the request, else the browser's.
"""

import logging

import sqlalchemy as sa
from flask import Flask, current_app, render_template, request

from matching.api import problems
from matching.extensions import db, login_manager
from matching.i18n import _l

log = logging.getLogger(__name__)

#: What a client or the balancer should wait before trying again (seconds): about the time
#: a database takes to restart or fail over.
RETRY_AFTER_SECONDS = 30

#: The errors of a database that cannot be reached (sa.exc.TimeoutError: no connection of
#: the pool came free in time). A driver error that invalidated its connection counts too,
#: whatever its class (``is_outage``).
OUTAGE_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)

TITLE = _l("Service temporarily unavailable")
MESSAGE = _l("The site cannot reach its database at the moment. Please try again in a "
             "minute. If you were saving something, check whether it was saved before "
             "sending it again.")


def is_outage(error: BaseException | None) -> bool:
    """Whether ``error`` means the database could not be reached (not a bug, not bad data)."""
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OUTAGE_ERRORS)


def roll_back_quietly() -> None:
    """End the request's transaction without raising: on a connection that is gone the
    rollback itself fails, and the session is closed instead (its connection goes back to
    the pool, which discards it)."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError as exc:
        log.info("rollback on a lost connection failed (%s); closing the session",
                 type(exc).__name__)
        try:
            db.session.close()
        except sa.exc.SQLAlchemyError:
            db.session.remove()


def unavailable(error: BaseException | None = None):
    """The 503 answer while the database is unreachable (an error handler)."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path,
                _summary(error))
    roll_back_quietly()
    # The header would load the user (and their organisation) from the database again.
    login_manager._update_request_context_with_user()  # Flask-Login's own "no user yet"
    if problems.is_api_request():
        response = problems.response(problems.Problem(503, MESSAGE))
    else:
        response = current_app.make_response(
            (render_template("errors/error.html", code=503, title=TITLE, message=MESSAGE), 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _summary(error: BaseException | None) -> str:
    """One line for the log: the class and the driver's first line (no traceback: during an
    outage every request fails the same way)."""
    if error is None:
        return "unknown"
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:300]


def register(app: Flask) -> None:
    for error in OUTAGE_ERRORS:
        app.register_error_handler(error, unavailable)
