"""The JSON API under ``/api/v1`` (issue 12): OpenAPI 3.1 at ``/api/v1/openapi.json``,
human-readable docs at ``/api/v1/docs`` (Swagger UI, vendored in ``static/vendor``).

How to add an endpoint (read ``trainees.py`` as the worked example)
------------------------------------------------------------------

1. **Blueprint**: one module per resource, ``bp = api_blueprint(name, __name__,
   "/api/v1/<things>", description=...)`` (``core``); add it to ``_resources()`` below. The
   blueprint already demands a bearer token (401), makes the token's user Flask-Login's
   ``current_user``, is CSRF-exempt and rate-limited per token (``API_RATE_LIMIT``).
   Several methods on one path go in one ``MethodView`` class (``TraineeItem``): two
   rules on one path would answer 405, not 404, to an id beyond the database's range.
2. **Schemas**: marshmallow schemas in the resource module (or ``schemas.py`` when shared):
   one to dump, one to load (``@bp.arguments(Schema)`` for a JSON body,
   ``@bp.arguments(Schema, location="query")`` for filters), ``@bp.response(200, Schema)``.
   The OpenAPI document is generated from them: document every answer a client can get with
   ``@bp.alt_response(status, schema=ProblemSchema)`` or ``problem_responses(...)``.
   Never dump a person's database id to an employer: use ``matching.references``.
   Times are ``schemas.UtcDateTime`` (RFC 3339, with the zone). A bulk request in an
   importer's format: ``bulk.bulk_schema`` and ``bulk.run_bulk``. Each operation's
   ``operationId`` is ``<resource>.<view>`` (``core.ApiBlueprint``).
3. **Access**: ``@roles(*access.SOME_ROLE_SET)`` for who may use the endpoint at all (403);
   load every object through ``matching.access`` (``trainees_select``, ``get_*_or_404``):
   outside the user's scope is 404, exactly as on the site. Never filter by hand.
4. **Writes**: call the ``matching.operations`` function the site calls; never re-check a rule
   here. A refusal (``OperationError``) becomes a problem by itself (``problems.from_refusal``:
   403/409/412/422); pass ``status=`` to ``from_refusal`` where the code alone cannot tell.
   The request commits once at its end (``web.transactions``), an error answer rolls back.
   A change of an existing object takes ``If-Match``: lock the row
   (``operations.locks.lock_rows``), then ``etags.check_if_match(etag(version))``; answer
   with the new ``ETag`` header.
5. **Lists**: ``ListArgs`` (subclass it for filters) + ``page_schema(ItemSchema)`` +
   ``cursor_page(scoped_select, Model.id, args)`` (``pagination``).
6. **Errors**: raise ``Problem(status, detail, errors=[{field, message}])``; every other
   error under ``/api/`` (404, 405, webargs' 422, 429, 500) is already a problem document.
7. **Tests**: add every route × role to ``tests/test_access_matrix.py`` (``API_MATRIX``: a
   token per role), and a ``tests/test_api_<resource>.py``. New strings need vi/ja.
   ``tests/test_api_schemathesis.py`` sends every operation generated requests for each
   role and fails on a 5xx or an answer the OpenAPI document does not describe.
"""

import threading

from flask import Blueprint, Flask, render_template
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from matching.api.problems import MEDIA_TYPE
from matching.api.schemas import ProblemSchema

API_PREFIX = "/api/v1"


class ProblemApi(Api):
    """flask-smorest's ``Api`` whose errors are problem documents (``problems``), and whose
    docs page is ours (the stock pages load scripts from a CDN, inline).

    The error responses and the resources' operations are written into the OpenAPI
    document when it is first read (``spec``), not when the application starts: describing
    them costs more than the rest of ``create_app``, and most processes (workers, the
    command line, each test's application) never serve the document."""

    ERROR_SCHEMA = ProblemSchema

    _documenting = threading.Lock()

    @property
    def spec(self):
        spec = self.__dict__.get("_spec")
        if spec is not None and self.__dict__.get("_pending_docs"):
            with self._documenting:  # two first readers at once: one writes, both see all
                pending, self._pending_docs = self._pending_docs, []
                for write in pending:
                    write(spec)
        return spec

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value
        self._pending_docs = []

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register ``blp`` on the application now, and its documentation when the
        document is next read (in registration order, as flask-smorest would)."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)

        def write(spec) -> None:
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})

        self._pending_docs.append(write)

    def _register_error_handlers(self):
        """None here: ``matching.web.errors`` answers API paths with problem documents."""

    def _register_responses(self):
        """Every status as a reusable response, the errors as problem documents (written
        first when the document is read, before the operations that refer to them)."""
        self._pending_docs.insert(0, _write_responses)

    def _register_doc_blueprint(self):
        docs = Blueprint("api_docs", __name__, url_prefix=API_PREFIX)
        docs.add_url_rule("/openapi.json", endpoint="openapi_json", view_func=self._openapi_json)
        docs.add_url_rule("/docs", endpoint="docs", view_func=_docs_page)
        self._app.register_blueprint(docs)


def _write_responses(spec) -> None:
    import http

    for status in http.HTTPStatus:
        response = {"description": status.phrase}
        if status >= 400:
            response["schema"] = ProblemApi.ERROR_SCHEMA
            prepare_response(response, spec, MEDIA_TYPE)
        spec.components.response(status.name, response, lazy=True)
    response = {"description": "A problem (RFC 9457)", "schema": ProblemApi.ERROR_SCHEMA}
    prepare_response(response, spec, MEDIA_TYPE)
    spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _docs_page():
    return render_template("api/docs.html")


api = ProblemApi()


def _resources():
    from matching.api import candidates, dispatches, documents, job_orders, model, trainees

    return (trainees.bp, job_orders.bp, candidates.bp, dispatches.bp, documents.bp, model.bp)


def configure_api(app: Flask) -> None:
    """Bind the API to ``app``: settings, the docs and every resource blueprint."""
    from matching.api.core import BEARER_SCHEME
    from matching.api.problems import choose_locale

    app.config.setdefault("API_TITLE", "Matching platform API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("API_RATE_LIMIT", "600 per minute")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "security": [{BEARER_SCHEME: []}],
        "servers": [{"url": "/"}],
        "info": {"description": "Tokens: the API tokens page of the site, or "
                                "`flask --app matching tokens create EMAIL`. Errors are "
                                "application/problem+json (RFC 9457)."},
    })
    app.before_request(choose_locale)
    api.init_app(app)
    api.spec.components.security_scheme(BEARER_SCHEME, {"type": "http", "scheme": "bearer"})
    for bp in _resources():
        api.register_blueprint(bp)
