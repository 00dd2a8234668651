"""Documents generated from a trainee's registry record: the rirekisho (Japanese résumé)."""

import logging
import re

from flask import Response
from flask_login import current_user
from sqlalchemy.orm import selectinload

from matching import access
from matching.documents import build_rirekisho
from matching.models import Trainee
from matching.web.trainees import bp

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF download of personal data: never cached by browsers or proxies."""
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def rirekisho_filename(trainee: Trainee) -> str:
    """``rirekisho-<external_id>.pdf`` with anything but ASCII letters, digits, . _ - replaced."""
    return "rirekisho-{}.pdf".format(_UNSAFE.sub("_", trainee.external_id).strip("._") or
                                     trainee.id)


@bp.route("/<int:trainee_id>/rirekisho.pdf")
@access.roles_required(*access.REGISTRARS)
def rirekisho(trainee_id: int):
    trainee = access.get_trainee_or_404(current_user, trainee_id, selectinload(Trainee.skills),
                                        selectinload(Trainee.certificates))
    log.info("rirekisho of trainee %s downloaded by %s", trainee.id, current_user.email)
    return pdf_response(build_rirekisho(trainee), rirekisho_filename(trainee))
