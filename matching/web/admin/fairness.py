"""The fairness check of recent rankings, for administrators (issue "Employer review", 7).

Read-only: the report is computed by ``matching.ranking.fairness`` on each request (a few
grouped queries over the window's impressions and the qualified pool).
"""

from flask import render_template, request
from flask_babel import format_percent
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from matching import access
from matching.i18n import _l
from matching.web.admin import bp
from matching.web.forms import BaseForm

#: The longest window the form accepts: ten years of impressions.
MAX_DAYS = 3650


class FairnessForm(BaseForm):
    """GET choice of the window (no CSRF: it changes nothing)."""

    days = IntegerField(_l("Days"), validators=[
        Optional(),
        NumberRange(min=1, max=MAX_DAYS,
                    message=_l("Choose a number of days between %(min)s and %(max)s.")),
    ])

    class Meta:
        csrf = False


@bp.route("/fairness")
@access.roles_required(*access.ADMINS)
def fairness():
    # The ranking package brings numpy and scipy: imported here so that web workers which
    # never open this page start without them (as the CLI does).
    from matching.ranking.fairness import (
        DEFAULT_DAYS,
        DEFAULT_THRESHOLD,
        DEFAULT_TOP,
        exposure_report,
    )

    form = FairnessForm(request.args)
    days = DEFAULT_DAYS
    if form.validate() and form.days.data:
        days = form.days.data
    elif not form.days.errors:
        form.days.data = DEFAULT_DAYS
    report = exposure_report(days=days, top=DEFAULT_TOP, threshold=DEFAULT_THRESHOLD)
    return render_template("admin/fairness.html", form=form, report=report, percent=_percent)


def _percent(share: float) -> str:
    """A share as a percentage in the reader's locale, one decimal ("12.5%", "12,5%")."""
    return format_percent(share, format="#,##0.0%")
