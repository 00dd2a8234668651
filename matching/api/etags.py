"""Optimistic concurrency: ``ETag`` on every single resource, ``If-Match`` on every change.

An ETag is the resource's version (a trainee's registry version, a job order's last change
time), quoted. A change must send ``If-Match`` with the ETag it last read: without it the
answer is 428 (a client that forgets it would silently overwrite someone else's change),
with an older one 412, whose problem document carries the ``current_etag`` to read again.
``If-Match: *`` means "whatever the version" and is accepted on purpose.

Call ``check_if_match`` after the row is locked (``operations.locks.lock_rows``), so no
other writer can change it between the comparison and the write.
"""

from datetime import datetime

from flask import request

from matching.api.problems import Problem
from matching.i18n import _l

#: The OpenAPI description of the header, for ``@bp.doc(parameters=[IF_MATCH])``.
IF_MATCH = {"in": "header", "name": "If-Match", "required": True,
            "schema": {"type": "string"},
            "description": "The ETag last read (428 without it, 412 when it is stale)."}


def etag(version: int | datetime) -> str:
    """The ``ETag`` header value of a resource at ``version``."""
    if isinstance(version, datetime):
        version = version.strftime("%Y%m%d%H%M%S%f")
    return f'"{version}"'


def check_if_match(current: str) -> None:
    """428 without ``If-Match``, 412 when it names another version than ``current``."""
    if_match = request.if_match
    if not if_match:
        raise Problem(428, _l("Send the ETag you last read as If-Match; a change without it "
                              "could overwrite someone else's."))
    if if_match.star_tag or if_match.contains(current.strip('"')):
        return
    raise Problem(412, _l("Someone changed this since you read it: read it again and "
                          "reapply your change."), current_etag=current)
