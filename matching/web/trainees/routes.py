"""The trainee registry pages: list, register, view, edit, CSV export, language certificates.

Each view loads through ``access`` (scope → 404, role → 403), calls ``operations.registry``
for writes and renders; the shared list query lives in ``queries``.
"""

import logging
from datetime import date

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from matching import access
from matching.extensions import db
from matching.models import Dispatch, Trainee
from matching.operations import registry
from matching.operations.dispatch import OPEN_STAGES
from matching.operations.registry import RegistryError
from matching.web.downloads import attachment
from matching.web.forms import EmptyForm, show_refusal
from matching.web.params import paginate
from matching.web.trainees import bp, queries
from matching.web.trainees.forms import (
    CertificateForm,
    SearchForm,
    TraineeForm,
    trainee_form_data,
)

log = logging.getLogger(__name__)



@bp.context_processor
def registry_helpers() -> dict:
    return {"can_edit_trainee": lambda t: access.can_edit_trainee(current_user, t)}


# -- list and export -----------------------------------------------------------------------


@bp.route("/")
@access.roles_required(*access.REGISTRARS)
def index():
    schools = queries.schools_in_scope(current_user)
    form = SearchForm(formdata=request.args, user=current_user, schools=schools)
    # The list shows each trainee's skills: one extra query per page, not one per row.
    stmt = queries.filtered_trainees(current_user, form.filters()).options(
        selectinload(Trainee.skills))
    pagination = paginate(stmt, per_page=current_app.config["TRAINEES_PER_PAGE"])
    return render_template("trainees/index.html", form=form, pagination=pagination,
                           filters=form.link_args())


@bp.route("/export.csv")
@access.roles_required(*access.REGISTRARS)
def export():
    form = SearchForm(formdata=request.args, user=current_user)
    filters = form.filters()
    stmt = queries.filtered_trainees(current_user, filters)
    scope = access.import_province_scope(current_user) or filters["province"]
    filename = "trainees-{}-{:%Y%m%d}.csv".format(scope or "all", date.today())
    log.info("trainee export %s by %s (%s)", filename, current_user.email, form.link_args())
    return attachment(stream_with_context(queries.export_csv(stmt)), filename, "text/csv")


# -- register and edit ---------------------------------------------------------------------


def _render_form(form: TraineeForm, trainee: Trainee | None):
    return render_template(
        "trainees/form.html", form=form, trainee=trainee,
        schools=queries.schools_in_scope(current_user),
        own_province=current_user.province if current_user.role == "department" else None,
    )


@bp.route("/new", methods=["GET", "POST"])
@access.roles_required(*access.REGISTRARS)
def create():
    if not access.can_register_trainees(current_user):
        abort(403)
    form = TraineeForm(user=current_user)
    if form.validate_on_submit():
        try:
            trainee = registry.create_trainee(form.registry_data(), current_user)
        except RegistryError as err:
            show_refusal(form, err)
        else:
            flash(_("%(name)s has been registered.", name=trainee.full_name), "success")
            return redirect(url_for(".view", trainee_id=trainee.id))
    return _render_form(form, None)


@bp.route("/<int:trainee_id>/edit", methods=["GET", "POST"])
@access.roles_required(*access.REGISTRARS)
def edit(trainee_id: int):
    trainee = access.get_trainee_or_404(current_user, trainee_id, selectinload(Trainee.skills))
    if not access.can_edit_trainee(current_user, trainee):
        abort(403)
    form = TraineeForm(data=trainee_form_data(trainee), user=current_user, editing=True)
    if form.validate_on_submit():
        confirm = _consent_confirmation(trainee, form)
        if confirm is not None:
            return confirm
        try:
            registry.update_trainee(trainee, form.registry_data(), current_user)
        except RegistryError as err:
            show_refusal(form, err)
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for(".view", trainee_id=trainee.id))
    return _render_form(form, trainee)


def _consent_confirmation(trainee: Trainee, form: TraineeForm):
    """The confirmation page when the consent goes from yes to no while a dispatch of the
    trainee is open (it says what changes and what does not), else None. Confirming sends
    the same form again with ``confirm_consent``."""
    if not trainee.consent or form.consent.data or request.form.get("confirm_consent") == "yes":
        return None
    dispatches = db.session.scalars(
        sa.select(Dispatch).where(Dispatch.trainee_id == trainee.id,
                                  Dispatch.stage.in_(OPEN_STAGES))
        .options(joinedload(Dispatch.job_order), joinedload(Dispatch.agency))).all()
    if not dispatches:
        return None
    fields = [(name, value) for name, values in request.form.lists() for value in values
              if name != "confirm_consent"]
    return render_template("trainees/confirm_consent.html", trainee=trainee,
                           dispatches=dispatches, fields=fields)


# -- view and certificates -----------------------------------------------------------------


def _load_for_view(trainee_id: int) -> Trainee:
    return access.get_trainee_or_404(current_user, trainee_id, selectinload(Trainee.skills),
                                     selectinload(Trainee.certificates))


def _render_view(trainee: Trainee, cert_form: CertificateForm):
    names = queries.user_names(trainee.created_by_id, trainee.updated_by_id)
    return render_template("trainees/view.html", trainee=trainee, cert_form=cert_form,
                           delete_form=EmptyForm(), user_names=names)


@bp.route("/<int:trainee_id>")
@access.roles_required(*access.REGISTRARS)
def view(trainee_id: int):
    return _render_view(_load_for_view(trainee_id), CertificateForm())


@bp.route("/<int:trainee_id>/certificates", methods=["POST"])
@access.roles_required(*access.REGISTRARS)
def add_certificate(trainee_id: int):
    trainee = _load_for_view(trainee_id)
    if not access.can_edit_trainee(current_user, trainee):
        abort(403)
    form = CertificateForm()
    if form.validate_on_submit():
        try:
            registry.add_certificate(trainee, form.certificate_data(), current_user)
        except RegistryError as err:
            show_refusal(form, err)
        else:
            flash(_("The certificate has been added."), "success")
            return redirect(url_for(".view", trainee_id=trainee.id, _anchor="certificates"))
    return _render_view(trainee, form)


@bp.route("/<int:trainee_id>/certificates/<int:cert_id>/delete", methods=["POST"])
@access.roles_required(*access.REGISTRARS)
def delete_certificate(trainee_id: int, cert_id: int):
    trainee = _load_for_view(trainee_id)
    if not access.can_edit_trainee(current_user, trainee):
        abort(403)
    cert = next((c for c in trainee.certificates if c.id == cert_id), None)
    if cert is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    registry.delete_certificate(trainee, cert, current_user)
    flash(_("The certificate has been removed."), "success")
    return redirect(url_for(".view", trainee_id=trainee.id, _anchor="certificates"))
