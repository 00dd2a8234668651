"""Documents generated from a trainee's registry record: the rirekisho (Japanese résumé)."""

import logging

from flask_login import current_user
from sqlalchemy.orm import selectinload

from matching import access
from matching.documents import build_rirekisho
from matching.models import Trainee
from matching.web.downloads import pdf_response, rirekisho_filename
from matching.web.trainees import bp

log = logging.getLogger(__name__)


@bp.route("/<int:trainee_id>/rirekisho.pdf")
@access.roles_required(*access.REGISTRARS)
def rirekisho(trainee_id: int):
    trainee = access.get_trainee_or_404(current_user, trainee_id, selectinload(Trainee.skills),
                                        selectinload(Trainee.certificates))
    log.info("rirekisho of trainee %s downloaded by %s", trainee.id, current_user.email)
    return pdf_response(build_rirekisho(trainee), rirekisho_filename(trainee))
