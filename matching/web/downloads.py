"""Files of personal data sent to the browser: attachments nobody caches."""

import re

from flask import Response, abort, send_file

from matching.models import Trainee
from matching.operations.documents import document_key
from matching.storage import document_store

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def attachment(body, filename: str, mimetype: str) -> Response:
    """A download of personal data (bytes, or a stream of text chunks): never cached by
    browsers or proxies."""
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def pdf_response(content: bytes, filename: str) -> Response:
    return attachment(content, filename, "application/pdf")


def rirekisho_filename(trainee: Trainee) -> str:
    """``rirekisho-<external_id>.pdf`` with anything but ASCII letters, digits, . _ - replaced."""
    return "rirekisho-{}.pdf".format(_UNSAFE.sub("_", trainee.external_id).strip("._") or
                                     trainee.id)


def stored_file(row, fallback_name: str) -> Response:
    """The stored file of ``row`` (a document, a grievance's attachment: a row with the
    document file columns) as a download, streamed from the document store and never
    cached; 404 without one. Access is checked before: this only serves."""
    key = document_key(row)
    store = document_store()
    size = store.size(key) if key else None
    if size is None:
        abort(404)
    response = send_file(store.reader(key),
                         mimetype=row.content_type or "application/octet-stream",
                         as_attachment=True, download_name=row.file_name or fallback_name,
                         conditional=False, etag=False, max_age=0)
    response.content_length = size
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
