"""``/api/v1/dispatches/{id}/documents``: record a document with its file (multipart), and
download a document's file, with the dispatch page's checks.

A document is recorded by ``operations.dispatch.add_document`` (who may record it, its
fields and dates, the file's type read from its first bytes and its size): the dispatch's
agency and admin. A file is downloaded by anyone who sees it on the dispatch's page
(``access.get_dispatch_document_or_404``: outside that, 404), streamed from the document
store as on the site (``web.downloads.stored_file``).
"""

import logging

import marshmallow as ma
from flask import url_for
from flask_login import current_user
from flask_smorest.fields import Upload
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from matching import access
from matching.api.core import api_blueprint, roles
from matching.api.dispatches import DocumentSchema, file_url
from matching.api.problems import Problem, from_refusal
from matching.api.schemas import Text, WindowDate
from matching.i18n import _l
from matching.models import DOCUMENT_KINDS
from matching.operations import dispatch as ops
from matching.operations.documents import FILE_TYPES, NUMBER_LIMIT
from matching.validation import DOCUMENT_ISSUED, EXPIRES
from matching.web.downloads import stored_file

log = logging.getLogger(__name__)

bp = api_blueprint("api_documents", __name__, "/api/v1/dispatches",
                   description="Documents of a dispatch and of its worker: their agency and "
                               "admin record them; whoever sees the dispatch downloads them.")


class _FormAndFiles(FlaskParser):
    """A multipart body's fields and files read as one ``form`` (webargs reads them apart)."""

    def load_form(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


bp.ARGUMENTS_PARSER = _FormAndFiles()


class FileField(Upload):
    """An uploaded file (a multipart part with a file name), nothing else."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage) or not value.filename:
            raise ma.ValidationError(str(_l("Attach the file as a part of a multipart "
                                            "request, with its file name.")))
        return value


class DocumentInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(DOCUMENT_KINDS), metadata={
        "description": "A dispatch's paper (contract, coe, visa, flight) or the worker's own "
                       "(passport, health_check, tb_certificate, language_certificate)."})
    number = Text(NUMBER_LIMIT, metadata={"description": "For a flight: the flight number."})
    issued_on = WindowDate(DOCUMENT_ISSUED, metadata={
        "description": "For a flight: the date of the flight."})
    expires_on = WindowDate(EXPIRES)
    file = FileField(metadata={"description": "PDF, JPEG or PNG (optional)."})


_BINARY = {"schema": {"type": "string", "format": "binary"}}
#: What a stored file is served as (``stored_file``: its type, read from its content).
_FILE_TYPES = (*(content_type for _magic, _ext, content_type in FILE_TYPES),
               "application/octet-stream")


@bp.route("/<bigid:dispatch_id>/documents", methods=["POST"])
@roles(*access.DISPATCH_MOVERS)
@bp.arguments(DocumentInSchema, location="form", content_type="multipart/form-data")
@bp.response(201, DocumentSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
def upload(data, dispatch_id):
    """Record a document of the dispatch (or of its worker, by kind), with its file, as
    the dispatch page does: the fields each kind needs, its dates, the file's type read
    from its content."""
    dispatch = access.get_dispatch_or_404(current_user, dispatch_id)
    if not access.can_move_dispatch(current_user, dispatch):
        raise Problem(404)
    try:
        document = ops.add_document(current_user, dispatch=dispatch, kind=data["kind"],
                                    number=data.get("number") or None,
                                    issued_on=data.get("issued_on"),
                                    expires_on=data.get("expires_on"), upload=data.get("file"))
    except ops.DispatchError as err:
        raise from_refusal(err) from None
    document.shown_on = dispatch.id
    location = file_url(document) or url_for("api_dispatches.item", dispatch_id=dispatch.id)
    return document, 201, {"Location": location}


@bp.route("/<bigid:dispatch_id>/documents/<bigid:document_id>/file")
@roles(*access.DISPATCH_READERS)
@bp.doc(responses={"200": {"description": "The file, as an attachment.", "content": {
    content_type: _BINARY for content_type in _FILE_TYPES}}})
@bp.alt_response(404, response="NOT_FOUND")
def file(dispatch_id, document_id):
    """A document's file (404 without one), for anyone who sees it on the dispatch."""
    dispatch, document = access.get_dispatch_document_or_404(current_user, dispatch_id,
                                                              document_id)
    log.info("document %s of dispatch %s downloaded by %s (API)", document.id, dispatch.id,
             current_user.email)
    return stored_file(document, f"document-{document.id}")
