"""Background tasks' pages: the list of one's tasks, a task's progress and result, retry.

A user sees the tasks they started; an administrator every task (the scheduler's too).
Outside that scope a task's URL answers 404, like any object (``access.get_task_or_404``).
The state comes from the task's row, so a reload, or another server, shows the same.
"""

import re

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from matching import access, background
from matching.extensions import db
from matching.models.background import BackgroundTask
from matching.web.admin.fairness import percent
from matching.web.forms import EmptyForm
from matching.web.tasks import bp

_TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
LISTED = 50
#: Seconds between two reloads of the page of a task still running.
REFRESH_SECONDS = 2


def _task_or_404(task_id: str) -> BackgroundTask:
    if not _TASK_ID.fullmatch(task_id):
        abort(404)
    return access.get_task_or_404(current_user, task_id)


@bp.route("/")
@login_required
def index():
    """The latest tasks the user may follow, newest first."""
    tasks = db.session.scalars(access.tasks_select(current_user)
                               .order_by(BackgroundTask.created_at.desc(),
                                         BackgroundTask.id)
                               .limit(LISTED)).all()
    return render_template("tasks/index.html", tasks=tasks, **_words())


@bp.route("/<task_id>")
@login_required
def view(task_id: str):
    """Status, progress, result or the reason of a failure; reloads itself while running."""
    task = _task_or_404(task_id)
    status = background.shown_status(task)
    return render_template(
        "tasks/view.html", task=task, status=status, form=EmptyForm(),
        refresh=REFRESH_SECONDS if status in ("queued", "running") else None,
        error=background.error_message(task),
        notice=background.NOTICES.get(task.notice) if task.notice else None,
        can_retry=background.can_retry(task), result=_result(task), percent=percent,
        **_words())


@bp.route("/<task_id>/retry", methods=["POST"])
@login_required
def retry(task_id: str):
    """Run a failed or abandoned task again (its owner, or an administrator)."""
    task = _task_or_404(task_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not background.retry(task):
        flash(_("This task cannot be started again: it is waiting, running or finished."),
              "warning")
    return redirect(url_for("tasks.view", task_id=task.id))


def _words() -> dict:
    return {"kind_labels": background.KIND_LABELS, "status_labels": background.STATUS_LABELS,
            "shown_status": background.shown_status}


def _result(task: BackgroundTask):
    """What the page shows of a task's result, per kind."""
    if not task.result:
        return None
    if task.kind == "fairness" and task.status == "finished":
        from matching.ranking.fairness import FairnessReport

        return FairnessReport.from_dict(task.result)
    if task.kind == "import":
        return {**task.result, **_import_words(task)}
    if task.kind == "train_model" and task.result.get("stored"):
        return {**task.result, "model": _model_words(task.result)}
    return task.result


def _import_words(task: BackgroundTask) -> dict:
    """An import's outcome in words, and where to go next (its list, or upload again)."""
    from matching.operations.imports.parsing import ImportResult
    from matching.web.uploads import ImportPages

    pages = ImportPages.by_importer.get(task.params.get("importer"))
    if pages is None:
        return {}
    result = task.result
    counts = ImportResult(rows=result.get("rows", 0), created=result.get("created", 0),
                          updated=result.get("updated", 0),
                          unchanged=result.get("unchanged", 0))
    return {"message": pages.done_message(counts) if task.status == "finished" else "",
            "done_url": url_for(f"{pages.blueprint}.{pages.done_endpoint}"),
            "again_url": url_for(f"{pages.blueprint}.import_upload")}


def _model_words(result: dict) -> str:
    names = {"learned": _("learned model"), "hierarchical": _("hierarchical model"),
             "blend": _("blend of the expert prior and the learned model"),
             "prior": _("expert prior")}
    return names.get(result.get("chosen"), result.get("chosen") or "")

