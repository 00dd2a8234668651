"""The ranking model, for administrators: which version ranks, the stored versions, and a
button that trains a new one as a background task (as ``flask --app matching model train``
does, issue 11 §4)."""

from flask import redirect, render_template, url_for
from flask_login import current_user

from matching import access, background
from matching.extensions import db
from matching.models.background import BackgroundTask
from matching.web.admin import bp
from matching.web.forms import EmptyForm

#: Training runs listed on the page.
RECENT_RUNS = 10


@bp.route("/model")
@access.roles_required(*access.ADMINS)
def model():
    from matching.ranking.service import current_model, model_store

    store = model_store()
    runs = db.session.scalars(
        access.tasks_select(current_user).where(BackgroundTask.kind == "train_model")
        .order_by(BackgroundTask.created_at.desc(), BackgroundTask.id).limit(RECENT_RUNS))
    return render_template("admin/model.html", choice=current_model(store),
                           versions=list(reversed(store.versions())), runs=list(runs),
                           form=EmptyForm(), kind_labels=background.KIND_LABELS,
                           status_labels=background.STATUS_LABELS,
                           shown_status=background.shown_status)


@bp.route("/model/train", methods=["POST"])
@access.roles_required(*access.ADMINS)
def model_train():
    """Train on the decisions recorded so far; the task's page shows the outcome."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("admin.model"))
    task = background.enqueue("train_model", user=current_user._get_current_object())
    return redirect(url_for("tasks.view", task_id=task.id))
