"""The machinery every API resource uses: ``api_blueprint``, bearer authentication, role
checks, the API's locale, and the rate limit per token.

Views never read the session: each request names its user with ``Authorization: Bearer``
(``operations.tokens.user_for_token``), and that user becomes Flask-Login's
``current_user`` for the request, so ``matching.access`` and the operations see the same
user, role and scope as on the site. The site's pages, for their part, never read a token.
"""

import hashlib
from collections.abc import Callable
from functools import wraps

import flask_babel
from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_smorest import Blueprint

from matching.api.problems import MEDIA_TYPE, Problem, problem_for_exception
from matching.api.schemas import ProblemSchema
from matching.extensions import csrf, limiter
from matching.i18n import _l
from matching.operations.errors import OperationError
from matching.operations.tokens import user_for_token

#: The answer to a request without a usable token (RFC 6750 §3).
_CHALLENGE = 'Bearer realm="api"'
BEARER_SCHEME = "bearerAuth"


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate() -> None:
    """``before_request`` of every resource blueprint: the token's user, or 401."""
    token = bearer_token()
    user = user_for_token(token) if token else None
    if user is None:
        challenge = _CHALLENGE + (', error="invalid_token"' if token else "")
        raise Problem(401, _l("Send a valid API token: Authorization: Bearer <token>.")
                      if not token else _l("The API token is unknown, revoked or expired, "
                                           "or its account is deactivated."),
                      headers={"WWW-Authenticate": challenge})
    g._login_user = user  # Flask-Login's current_user for this request; no session read
    if not request.headers.get("Accept-Language") and user.locale in current_app.config[
            "LANGUAGES"]:
        g.locale = user.locale  # no language asked for: the user's own
        flask_babel.refresh()


def roles(*allowed: str) -> Callable:
    """The user's role must be one of ``allowed`` (``matching.access``' role sets), else 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in allowed:
                raise Problem(403, _l("Your role cannot use this endpoint."))
            return view(*args, **kwargs)

        wrapped._api_roles = allowed  # read by the OpenAPI description and the tests
        return wrapped

    return decorator


def rate_limit_key() -> str:
    """Counted per token (as a digest: the counter store holds no token), else per IP."""
    token = bearer_token()
    if token:
        return "api-token:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")
                                             ).hexdigest()[:32]
    return "api-ip:" + get_remote_address()


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


class ApiBlueprint(Blueprint):
    """A blueprint whose operations have an ``operationId``: the resource and the view
    (``dispatches.move``; ``trainees.item.patch`` when a view answers several methods), for
    clients that find operations by id. ``@bp.doc(operationId=...)`` overrides it."""

    def alt_response(self, status_code, response=None, *, schema=None, content_type=None,
                     **kwargs):
        """An error answer documented with ``ProblemSchema`` (or a subclass) is a problem
        document: ``application/problem+json`` unless said otherwise."""
        if content_type is None and isinstance(schema, type) and issubclass(schema,
                                                                            ProblemSchema):
            content_type = MEDIA_TYPE
        return super().alt_response(status_code, response, schema=schema,
                                    content_type=content_type, **kwargs)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        methods = [m for m in self._docs[endpoint] if m != "parameters"]
        resource = self.name.removeprefix("api_")
        for method in methods:
            name = f"{resource}.{endpoint}" + (f".{method}" if len(methods) > 1 else "")
            self._docs[endpoint][method].setdefault("manual_doc", {}).setdefault(
                "operationId", name)


def api_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    """A resource blueprint: token required, CSRF exempt (no cookie is read), rate-limited
    per token, and every refusal answered as a problem."""
    bp = ApiBlueprint(name, import_name, url_prefix=url_prefix, description=description)
    bp.before_request(authenticate)
    bp.register_error_handler(Problem, problem_for_exception)
    bp.register_error_handler(OperationError, problem_for_exception)
    csrf.exempt(bp)
    limiter.limit(_rate_limit, key_func=rate_limit_key)(bp)
    return bp
