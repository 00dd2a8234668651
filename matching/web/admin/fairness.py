"""The fairness check of recent rankings, for administrators (issue "Employer review", 7).

The report (``matching.ranking.fairness``) is computed by a background task (issue 11 §4):
the page shows the latest report computed for the chosen window, and its button starts a
new one and leads to the task's page, which shows the report once it is ready.
"""

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_login import current_user
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from matching import access, background
from matching.extensions import db
from matching.i18n import _l
from matching.models.background import BackgroundTask
from matching.web.admin import bp
from matching.web.forms import BaseForm

#: The longest window the form accepts: ten years of impressions.
MAX_DAYS = 3650
#: How many recent reports are looked through for one of the chosen window.
RECENT_REPORTS = 20


class FairnessRunForm(BaseForm):
    """POST: compute the report for a window."""

    days = IntegerField(_l("Days"), validators=[
        Optional(),
        NumberRange(min=1, max=MAX_DAYS,
                    message=_l("Choose a number of days between %(min)s and %(max)s.")),
    ])


class FairnessForm(FairnessRunForm):
    """GET choice of the window (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False


@bp.route("/fairness", methods=["GET", "POST"])
@access.roles_required(*access.ADMINS)
def fairness():
    from matching.ranking.fairness import DEFAULT_DAYS, DEFAULT_THRESHOLD, DEFAULT_TOP

    if request.method == "POST":
        form = FairnessRunForm()
        if form.validate_on_submit():
            task = background.enqueue("fairness", user=current_user._get_current_object(),
                                      days=form.days.data or DEFAULT_DAYS, top=DEFAULT_TOP,
                                      threshold=DEFAULT_THRESHOLD)
            return redirect(url_for("tasks.view", task_id=task.id))
    else:
        form = FairnessForm(request.args)
        if not (form.validate() and form.days.data) and not form.days.errors:
            form.days.data = DEFAULT_DAYS
    days = DEFAULT_DAYS if form.days.errors else form.days.data or DEFAULT_DAYS
    task = _latest_report(days)
    return render_template("admin/fairness.html", form=form, task=task,
                           report=_report(task), percent=percent)


def _latest_report(days: int) -> BackgroundTask | None:
    """The newest finished report of a ``days``-day window."""
    recent = db.session.scalars(
        access.tasks_select(current_user)
        .where(BackgroundTask.kind == "fairness", BackgroundTask.status == "finished")
        .order_by(BackgroundTask.finished_at.desc(), BackgroundTask.id)
        .limit(RECENT_REPORTS)
        .options(sa.orm.defer(BackgroundTask.payload)))
    return next((task for task in recent if (task.params or {}).get("days") == days), None)


def _report(task: BackgroundTask | None):
    from matching.ranking.fairness import FairnessReport

    return FairnessReport.from_dict(task.result) if task and task.result else None


def percent(share: float) -> str:
    """A share as a percentage in the reader's locale, one decimal ("12.5%", "12,5%")."""
    return format_percent(share, format="#,##0.0%")
