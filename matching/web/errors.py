"""Translated error pages; under ``/api/`` problem documents instead (``matching.api``)."""

import math
import time
from functools import wraps

from flask import render_template
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from matching.api.problems import is_api_request, problem_for_exception
from matching.extensions import limiter
from matching.i18n import _l
from matching.web import outages

_MESSAGES = {
    400: (_l("Bad request"),
          _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Access denied"),
          _l("Your account does not have permission to open this page.")),
    404: (_l("Page not found"),
          _l("The page you asked for does not exist or is not available to you.")),
    413: (_l("File too large"),
          _l("The uploaded file is larger than the limit of 20 MB.")),
    429: (_l("Too many attempts"),
          _l("There have been too many failed attempts. Please wait a while and try again.")),
    500: (_l("Something went wrong"),
          _l("An unexpected error occurred. It has been logged; please try again later.")),
}


def _render(code: int, title=None, message=None):
    default_title, default_message = _MESSAGES[code]
    return render_template("errors/error.html", code=code, title=title or default_title,
                           message=message or default_message), code


def _retry_message():
    breached = limiter.current_limit
    if breached is None:
        return None
    seconds = int(breached.reset_at - time.time())  # as Flask-Limiter's Retry-After
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("There have been too many failed attempts. Please try again in "
                    "%(num)d minute.",
                    "There have been too many failed attempts. Please try again in "
                    "%(num)d minutes.", minutes)


def _or_problem(handler):
    """The site's page for ``handler``'s error, or a problem document for an API path."""

    @wraps(handler)
    def answer(error):
        return problem_for_exception(error) if is_api_request() else handler(error)

    return answer


def register(app) -> None:
    for code in (400, 403, 404, 413):
        app.register_error_handler(code, _or_problem(lambda e, code=code: _render(code)))

    @app.errorhandler(HTTPException)
    @_or_problem
    def other_http_error(error):
        return error  # the site keeps Werkzeug's page for the others (405...)

    @app.errorhandler(CSRFError)
    @_or_problem
    def csrf_error(_e):
        return _render(400, message=_l("The form has expired or was not sent from this site. "
                                       "Please reload the page and try again."))

    @app.errorhandler(429)
    @_or_problem
    def too_many_attempts(_e):
        # The same words for every address, known or not; Flask-Limiter adds Retry-After.
        return _render(429, message=_retry_message())

    @app.errorhandler(500)
    def internal_error(error):
        original = getattr(error, "original_exception", None)
        if outages.is_outage(original):  # the database went away while answering an error
            return outages.unavailable(original)  # a problem document under /api/ too
        if is_api_request():
            return problem_for_exception(error)
        outages.roll_back_quietly()
        return _render(500)

    outages.register(app)
