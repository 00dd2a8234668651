"""Errors of the API as ``application/problem+json`` (RFC 9457).

Every error under ``/api/`` is a problem document: ``type`` (a stable URI reference, one per
kind of problem, ``/api/v1/problems/<slug>``), ``title`` (the kind, translated by
``Accept-Language``), ``status``, ``detail`` (this occurrence, translated too, when there is
more to say), ``instance`` (the path asked for) and, for invalid input, ``errors``: a list
of ``{field, message}`` (``{row, field, message}`` for a bulk request).

Raise ``Problem`` from a view (or call ``abort_problem``); an ``OperationError`` from the
operations layer becomes one through ``from_refusal``. Werkzeug's HTTP errors (404 of an
unknown path, 405, 413, 429 of the rate limit, webargs' 422 and 400) and any unexpected
exception (500, nothing of it shown) are turned into problems by ``problem_for_exception``,
which the site's error handlers call for API paths (``matching.web.errors``).
"""

import flask_babel
from flask import current_app, g, json, request
from werkzeug.exceptions import HTTPException

from matching.extensions import db
from matching.i18n import _l
from matching.operations.errors import OperationError

MEDIA_TYPE = "application/problem+json"
API_PREFIX = "/api/"
TYPE_BASE = "/api/v1/problems/"

#: status → (slug of the type URI, translated title). The slugs are part of the contract.
TYPES = {
    400: ("bad-request", _l("Bad request")),
    401: ("unauthorized", _l("Authentication required")),
    403: ("forbidden", _l("Not allowed for your role")),
    404: ("not-found", _l("Not found")),
    405: ("method-not-allowed", _l("Method not allowed")),
    406: ("not-acceptable", _l("Not acceptable")),
    409: ("conflict", _l("Conflict with the current state")),
    412: ("precondition-failed", _l("The resource has changed")),
    413: ("too-large", _l("Request too large")),
    415: ("unsupported-media-type", _l("Unsupported media type")),
    422: ("invalid", _l("Invalid input")),
    428: ("precondition-required", _l("If-Match required")),
    429: ("too-many-requests", _l("Too many requests")),
    500: ("internal-error", _l("Internal error")),
    503: ("unavailable", _l("Service temporarily unavailable")),  # matching.web.outages
}

#: OperationError codes that mean the object's state forbids the change (409), a stale
#: version (412) or a refusal of the role (403); any other refusal is invalid input (422).
_CONFLICT_CODES = {"not_allowed", "closed", "missing_document", "expired_document",
                   "conflict", "duplicate"}
_STATUS_OF_CODE = {"stale": 412, "forbidden": 403} | dict.fromkeys(_CONFLICT_CODES, 409)


def type_uri(status: int) -> str:
    return TYPE_BASE + TYPES.get(status, TYPES[500])[0]


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


class Problem(Exception):
    """An API error answer; raise it from a view (``errors``: ``[{field, message}]``)."""

    def __init__(self, status: int, detail=None, errors: list[dict] | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(detail or TYPES.get(status, TYPES[500])[1])
        self.status = status if status in TYPES else 500
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra  # more members of the document, e.g. ``current_version``


def abort_problem(status: int, detail=None, **kw):
    raise Problem(status, detail, **kw)


def from_refusal(err: OperationError, status: int | None = None) -> Problem:
    """The problem for a refused operation: 412 stale, 403 forbidden, 409 for a state that
    forbids the change, else 422 naming the field. ``status`` overrides the choice."""
    status = status or _STATUS_OF_CODE.get(err.code or "", 422)
    errors = ([{"field": err.field, "message": str(err.message)}]
              if status == 422 and err.field else None)
    return Problem(status, err.message, errors=errors)


def response(problem: Problem):
    """The ``application/problem+json`` response of ``problem``."""
    slug, title = TYPES[problem.status]
    body = {"type": TYPE_BASE + slug, "title": str(title), "status": problem.status}
    if problem.detail is not None and str(problem.detail) != str(title):
        body["detail"] = str(problem.detail)
    body["instance"] = request.path
    if problem.errors is not None:
        body["errors"] = [{k: (str(v) if k == "message" else v) for k, v in e.items()}
                          for e in problem.errors]
    body.update(problem.extra)
    answer = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                        status=problem.status, mimetype=MEDIA_TYPE)
    answer.headers["Content-Language"] = _content_language()
    for name, value in problem.headers.items():
        answer.headers[name] = value
    return answer


def _content_language() -> str:
    from matching.i18n import locale_code

    return locale_code()


def choose_locale() -> None:
    """The language of an API answer: ``Accept-Language``, else English (a program's
    default), never a cookie nor a session. App-wide ``before_request`` for API paths, so
    404s and 405s speak it too; ``core.authenticate`` may then pick the user's own."""
    if is_api_request() and "locale" not in g:
        g.locale = request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"
        flask_babel.refresh()


def problem_for_exception(error: Exception):
    """The problem response for any exception raised while answering an API request."""
    choose_locale()  # an error before the API's before_request (the rate limit) too
    if isinstance(error, Problem):
        return response(error)
    if isinstance(error, OperationError):
        return response(from_refusal(error))
    if not isinstance(error, HTTPException) or (error.code or 500) >= 500:
        # Flask has logged the exception already; the client learns nothing of it.
        db.session.rollback()
        return response(Problem(500))
    status = error.code if error.code in TYPES else 400
    headers = dict(error.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    data = getattr(error, "data", None) or {}
    errors = validation_errors(data.get("messages")) if "messages" in data else None
    headers.update(data.get("headers") or {})
    if status == 429:
        _retry_after(headers)
    return response(Problem(status, errors=errors, headers=headers))


def _retry_after(headers: dict) -> None:
    """Flask-Limiter adds Retry-After after the handler has run only when its own headers
    are on; set it here in any case."""
    import math
    import time

    from matching.extensions import limiter

    breached = limiter.current_limit
    if breached is not None and "Retry-After" not in headers:
        headers["Retry-After"] = str(max(1, math.ceil(breached.reset_at - time.time())))


#: marshmallow's and webargs' most common messages, translated (the others stay English).
_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field cannot be empty."),
    "Unknown field.": _l("Unknown field."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid number.": _l("Enter a number."),
    "Not a valid string.": _l("Enter a text."),
    "Not a valid boolean.": _l("Enter true or false."),
    "Not a valid date.": _l("Enter a date as YYYY-MM-DD."),
    "Not a valid list.": _l("Enter a list."),
    "Invalid input type.": _l("This value has the wrong type."),
    "Must be one of: {choices}.": _l("Choose one of the allowed values."),
}


def _message(text) -> str:
    text = str(text)
    known = _MESSAGES.get(text)
    if known is None and text.startswith("Must be one of: "):
        known = _MESSAGES["Must be one of: {choices}."]
    return str(known) if known is not None else text


def validation_errors(messages) -> list[dict]:
    """webargs' nested ``{location: {field: [message]}}`` as ``[{field, message}]``, the
    field a dotted path (``rows.3.skills``). Query and body names never clash, so their
    location is left out; a header's is kept (``headers.If-Match``)."""
    out: list[dict] = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                # "_schema": the body as a whole (not an object, say): no field to name.
                walk(value, path if key == "_schema" else [*path, str(key)])
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, path)
        else:
            out.append({"field": ".".join(path) or None, "message": _message(node)})

    if isinstance(messages, dict):
        for location, fields in messages.items():
            walk(fields, [] if location in ("json", "form", "files", "query") else [location])
    else:
        walk(messages, [])
    return out
