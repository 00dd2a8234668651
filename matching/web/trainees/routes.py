"""The trainee registry pages: list, register, view, edit, CSV export, language certificates.

Each view loads through ``access`` (scope → 404, role → 403), calls ``operations.registry``
for writes and renders; the shared list query lives in ``queries``.
"""

import logging
from datetime import date

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
from sqlalchemy.orm import selectinload

from matching import access
from matching.models import Trainee
from matching.operations import registry
from matching.operations.registry import RegistryError
from matching.vocab import SKILL_CATALOGUE
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
        skill_hints=SKILL_CATALOGUE, schools=queries.schools_in_scope(current_user),
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
        try:
            registry.update_trainee(trainee, form.registry_data(), current_user)
        except RegistryError as err:
            show_refusal(form, err)
        else:
            flash(_("The changes have been saved."), "success")
            return redirect(url_for(".view", trainee_id=trainee.id))
    return _render_form(form, trainee)


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
