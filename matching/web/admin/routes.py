"""Administrators manage organisations and user accounts (issue item 4).

Every view is admin-only; objects and lists come from ``matching.access`` and every write
goes through ``matching.operations.accounts``, whose refusals are shown next to the field
they concern.
"""

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matching import access
from matching.extensions import db
from matching.models import Organisation, User
from matching.operations.accounts import (
    AccountError,
    create_user,
    save_organisation,
    update_user,
)
from matching.vocab import fold
from matching.web.admin import bp
from matching.web.admin.forms import (
    OrganisationFilterForm,
    OrganisationForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    country_choices,
)
from matching.web.forms import show_refusal
from matching.web.params import db_id, paginate
from matching.web.sessions import log_back_in

PER_PAGE = 50


def _per_page() -> int:
    return current_app.config.get("ADMIN_PER_PAGE", PER_PAGE)


def _set(**filters) -> dict:
    """The filters in use, for the pager's links (empty ones left out of the URL)."""
    return {name: value for name, value in filters.items() if value}


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with the wildcards in ``text`` escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(stmt: sa.Select, model, key, query: str) -> sa.Select:
    """``stmt`` narrowed to the rows whose ``key`` (code, e-mail) or name contains ``query``;
    all of them when ``query`` is empty."""
    if not query:
        return stmt
    return stmt.where(sa.or_(key.like(_like(query.lower()), escape="\\"),
                             model.id.in_(_ids_by_name(stmt, model, query))))


def _ids_by_name(scoped: sa.Select, model, query: str) -> list[int]:
    """Ids of the rows of ``scoped`` whose name contains ``query``, ignoring case and
    Vietnamese diacritics.

    Names are Vietnamese or Japanese and SQLite's lower() only knows ASCII, so the folding
    happens in Python; there are at most a few thousand accounts and organisations.
    """
    needle = fold(query)
    rows = db.session.execute(scoped.with_only_columns(model.id, model.name)).all()
    return [row_id for row_id, name in rows if needle in fold(name or "")]


@bp.route("/")
@access.roles_required(*access.ADMINS)
def index():
    return redirect(url_for("admin.organisations"))


# -- organisations -------------------------------------------------------------------------


@bp.route("/organisations")
@access.roles_required(*access.ADMINS)
def organisations():
    filters = OrganisationFilterForm(formdata=request.args)
    stmt = access.organisations_select(current_user)
    kind = filters.chosen("kind")
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    query = filters.q.data or ""
    stmt = _search(stmt, Organisation, Organisation.code, query)
    stmt = stmt.order_by(Organisation.name, Organisation.id)
    page = paginate(stmt, per_page=_per_page())
    # One grouped query for the users of the whole page instead of one per organisation.
    ids = [org.id for org in page.items]
    user_counts = dict(db.session.execute(
        access.users_select(current_user).with_only_columns(User.organisation_id,
                                                            sa.func.count())
        .where(User.organisation_id.in_(ids)).group_by(User.organisation_id)
    ).all()) if ids else {}
    return render_template("admin/organisations.html", page=page, filters=filters,
                           user_counts=user_counts, args=_set(kind=kind, q=query),
                           country_names=dict(country_choices()))


@bp.route("/organisations/new", methods=["GET", "POST"])
@access.roles_required(*access.ADMINS)
def organisation_new():
    form = OrganisationForm()
    if request.method == "GET" and request.args.get("kind") in dict(form.kind.choices):
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            org = save_organisation(None, **_organisation_values(form), actor=current_user)
        except AccountError as exc:
            show_refusal(form, exc)
        else:
            flash(_("Organisation %(name)s created.", name=org.name), "success")
            return redirect(url_for("admin.organisations", q=org.code))
    return render_template("admin/organisation_form.html", form=form, org=None)


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@access.roles_required(*access.ADMINS)
def organisation_edit(org_id: int):
    org = access.get_organisation_or_404(current_user, org_id)
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        try:
            save_organisation(org, **_organisation_values(form), actor=current_user)
        except AccountError as exc:
            show_refusal(form, exc)
        else:
            flash(_("Organisation %(name)s saved.", name=org.name), "success")
            return redirect(url_for("admin.organisations", q=org.code))
    users = db.session.scalars(
        access.users_select(current_user).where(User.organisation_id == org.id)
        .order_by(User.email).limit(100)).all()
    return render_template("admin/organisation_form.html", form=form, org=org, users=users)


def _organisation_values(form: OrganisationForm) -> dict:
    return {"kind": form.kind.data, "code": form.code.data, "name": form.name.data,
            "country": form.country.data, "province": form.province.data or None,
            "active": form.active.data}


# -- users ---------------------------------------------------------------------------------


@bp.route("/users")
@access.roles_required(*access.ADMINS)
def users():
    filters = UserFilterForm(formdata=request.args)
    stmt = access.users_select(current_user)
    role = filters.chosen("role")
    if role:
        stmt = stmt.where(User.role == role)
    org_id = filters.organisation.data
    if org_id:
        stmt = stmt.where(User.organisation_id == org_id)
    query = filters.q.data or ""
    stmt = _search(stmt, User, User.email, query)
    # User.organisation is eagerly joined by the model, so the list costs no extra queries.
    stmt = stmt.order_by(User.email)
    page = paginate(stmt, per_page=_per_page())
    return render_template("admin/users.html", page=page, filters=filters,
                           args=_set(role=role, organisation=org_id, q=query))


@bp.route("/users/new", methods=["GET", "POST"])
@access.roles_required(*access.ADMINS)
def user_new():
    form = UserCreateForm()
    if request.method == "GET":
        # "Add a user" from an organisation's page arrives with that organisation chosen.
        org_id = request.args.get("organisation", type=db_id)
        org = db.session.scalar(access.organisations_select(current_user)
                                .where(Organisation.id == org_id)) if org_id else None
        if org is not None:
            form.organisation.data = org.id
            form.role.data = _ROLE_FOR_KIND.get(org.kind, form.role.data)
    if form.validate_on_submit():
        org = access.get_organisation_or_404(current_user, form.organisation.data)
        try:
            user = create_user(form.email.data, form.password.data, form.role.data, org,
                               name=form.name.data or "", locale=form.locale.data or None,
                               timezone=form.timezone.data or None)
        except AccountError as exc:
            show_refusal(form, exc)
        else:
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users", q=user.email))
    return render_template("admin/user_form.html", form=form, user=None)


_ROLE_FOR_KIND = {"platform": "admin", "department": "department", "employer": "employer",
                  "agency": "agency"}


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@access.roles_required(*access.ADMINS)
def user_edit(user_id: int):
    user = access.get_user_or_404(current_user, user_id)
    form = UserEditForm(data={"name": user.name, "role": user.role, "active": user.active,
                              "organisation": user.organisation_id, "locale": user.locale or "",
                              "timezone": user.timezone or ""},
                        current_timezone=user.timezone)
    if form.validate_on_submit():
        org = access.get_organisation_or_404(current_user, form.organisation.data)
        try:
            update_user(user, name=form.name.data or "", role=form.role.data, org=org,
                        active=form.active.data, locale=form.locale.data or None,
                        timezone=form.timezone.data or None,
                        password=form.password.data or None, actor=current_user)
        except AccountError as exc:
            show_refusal(form, exc)
        else:
            if user.id == current_user.id and form.password.data:
                log_back_in(user)  # one's own new password ends the other sessions only
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("admin.users", q=user.email))
    return render_template("admin/user_form.html", form=form, user=user)
