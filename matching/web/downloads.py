"""Files of personal data sent to the browser: attachments nobody caches."""

import re

from flask import Response

from matching.models import Trainee

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
