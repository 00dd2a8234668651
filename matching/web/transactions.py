"""One request, one transaction: the operations flush, the request commits here, once.

As Indico's request handler commits after the view has run, an ``after_request`` hook ends
the transaction: a response below 400 (a page, a redirect after a POST) commits what the
request wrote; an error response rolls it back. A commit that fails on a constraint checked
only at commit is rolled back and re-raised, so Flask answers with its 500 page and nothing
of the request is kept; one that fails because the database is gone answers the 503 page
(``matching.web.outages``). Neither the rollback nor the commit's failure raises anew when
the connection is lost.

A view that must commit before doing something outside the database (sending a file it
has just recorded, claiming an uploaded file) still commits itself; the hook then finds
nothing left to do.
"""

from flask import Flask, Response

from matching.extensions import db
from matching.web.outages import is_outage, roll_back_quietly, unavailable


def configure_transactions(app: Flask) -> None:
    """Register the commit. ``after_request`` hooks run in the reverse order of their
    registration: registered after the others, this one runs first, so a failed commit
    is never logged as a success."""
    app.after_request(commit_or_roll_back)


def commit_or_roll_back(response: Response) -> Response:
    """Commit the request's transaction, or roll it back when the response is an error."""
    session = db.session()  # the request's Session (the scoped proxy lacks in_transaction)
    if not session.in_transaction():
        return response  # the request touched no database
    if response.status_code >= 400:
        roll_back_quietly()
        return response
    try:
        session.commit()
    except Exception as exc:
        roll_back_quietly()
        if is_outage(exc):
            return unavailable(exc)
        raise
    return response
