"""The agency's dispatch pages: the board, one dispatch, its moves and documents (DESIGN §6).

Each view loads through ``access`` (scope → 404, role → 403) and calls
``operations.dispatch`` for every write; a refused move comes back as a ``DispatchError``
whose translated message is shown as it is. Departments and employers read a dispatch's
page (timeline and documents) but get no form on it.
"""

import logging
from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from matching import access
from matching.extensions import db
from matching.i18n import fmt_list
from matching.labels import document_kind_label, stage_label
from matching.models import STAGES, Dispatch, Document, StatusEvent
from matching.operations import dispatch as ops
from matching.web.dispatch import bp, queries
from matching.web.dispatch.forms import (
    BoardFilterForm,
    DocumentForm,
    MoveForm,
    PlannedDepartureForm,
    WithdrawDocumentForm,
)
from matching.web.downloads import stored_file
from matching.web.forms import show_refusal

log = logging.getLogger(__name__)


@bp.context_processor
def dispatch_helpers() -> dict:
    today = date.today()
    # stage_label and document_kind_label are global (matching.web.templates).
    return {"kind_list": lambda kinds: fmt_list(document_kind_label(k) for k in kinds),
            "expiry_class": lambda doc, dispatch: queries.expiry_class(doc, dispatch, today),
            "STAGES": STAGES, "today": today}


def dispatch_summary() -> dict:
    """The home page's pipeline summary: dispatches per stage and documents expiring soon
    (a template global of ``matching.web.templates``)."""
    return {"counts": queries.stage_counts(access.dispatches_select(current_user)),
            "expiring": queries.expiring_soon(current_user), "stages": STAGES}


def trainee_dispatches(trainee) -> list[Dispatch]:
    """The dispatches of ``trainee`` the current user may follow (for the trainee page, a
    template global of ``matching.web.templates``)."""
    return db.session.scalars(queries.with_people(
        access.dispatches_select(current_user).where(Dispatch.trainee_id == trainee.id))
        .order_by(Dispatch.created_at.desc(), Dispatch.id.desc())).unique().all()


# -- the board -------------------------------------------------------------------------------


@bp.route("/")
@login_required
def board():
    """The agency's dispatches by stage (admin: everyone's), with filters."""
    # Departments and employers follow the pipeline from their own pages.
    if current_user.role == "department":
        return redirect(url_for(".province"))
    if current_user.role == "employer":
        return redirect(url_for(".employer"))
    if current_user.role not in access.DISPATCH_MOVERS:
        abort(403)
    jobs, employers = queries.filter_choices(current_user)
    form = BoardFilterForm(formdata=request.args, jobs=jobs, employers=employers)
    filters = queries.BoardFilters.from_form(form)
    cards, more = queries.board_cards(current_user, filters)
    counts = queries.stage_counts(queries.board_statement(current_user, filters))
    sections = [(stage, [c for c in cards if c.dispatch.stage == stage])
                for stage in ((filters.stage,) if filters.stage else queries.OPEN_STAGES)]
    stage_links = {stage: url_for(".board", **(filters.as_args() | {"stage": stage}))
                   for stage in queries.ALL_STAGES}
    return render_template("dispatch/board.html", form=form, filters=filters,
                           sections=sections, counts=counts, more=more, stage_links=stage_links,
                           limit=queries.BOARD_LIMIT, shown=len(cards),
                           closed=("completed", *queries.EXITS))


# -- one dispatch ----------------------------------------------------------------------------


def _load(dispatch_id: int) -> Dispatch:
    return access.get_dispatch_or_404(
        current_user, dispatch_id, joinedload(Dispatch.trainee), joinedload(Dispatch.job_order),
        joinedload(Dispatch.agency), selectinload(Dispatch.events).joinedload(StatusEvent.by))


def _render_view(dispatch: Dispatch, *, move_form=None, document_form=None, status=200,
                 stale=None, replace_form=None, withdraw_form=None, withdrawing=None):
    can_move = access.can_move_dispatch(current_user, dispatch)
    documents = db.session.scalars(
        access.dispatch_documents_select(current_user, dispatch).options(
            selectinload(Document.created_by), selectinload(Document.withdrawn_by),
            selectinload(Document.replaced_by).selectinload(Document.created_by))).all()
    # Who may replace or withdraw what: the dispatch's papers whoever moves it; the worker's
    # own papers also their department (``access.can_record_document``).
    recordable = set()
    if any(d.is_current for d in documents):
        own_papers = access.can_record_document(current_user, None, dispatch.trainee)
        recordable = {d.id for d in documents if d.is_current and (
            can_move if d.dispatch_id is not None else own_papers)}
    if recordable and withdraw_form is None:
        withdraw_form = WithdrawDocumentForm(formdata=None)
    moves, requirements, edit_form = [], [], None
    if can_move:
        moves = ops.allowed_moves(dispatch, current_user)
        move_form = move_form or MoveForm(formdata=None, moves=moves, version=dispatch.version)
        document_form = document_form or DocumentForm(formdata=None)
        edit_form = PlannedDepartureForm(formdata=None, version=dispatch.version,
                                         planned_departure=dispatch.planned_departure)
        # For each forward move: the documents it needs and which of them are missing.
        requirements = [(to, ops.REQUIRED_DOCUMENTS.get(to, ()),
                         ops.missing_documents(dispatch, to))
                        for to in moves if to in STAGES]
    return render_template("dispatch/view.html", dispatch=dispatch, events=dispatch.events,
                           documents=[d for d in documents if d.is_current],
                           history=[d for d in documents if not d.is_current],
                           recordable=recordable, replace_form=replace_form,
                           withdraw_form=withdraw_form, withdrawing=withdrawing,
                           can_move=can_move, moves=moves,
                           requirements=requirements, move_form=move_form,
                           document_form=document_form, edit_form=edit_form,
                           stale=stale), status


@bp.route("/<bigid:dispatch_id>")
@access.roles_required(*access.DISPATCH_READERS)
def view(dispatch_id: int):
    dispatch = _load(dispatch_id)
    replace_form = None
    replacing = request.args.get("replace", type=int)
    if replacing is not None:
        # "Replace" opens the document form for that kind; the POST checks everything again.
        document = _recordable_document(dispatch, replacing, missing_ok=True)
        if document is not None:
            replace_form = DocumentForm(formdata=None, replacing=document)
    return _render_view(dispatch, replace_form=replace_form)


def _movable(dispatch_id: int) -> Dispatch:
    dispatch = _load(dispatch_id)
    if not access.can_move_dispatch(current_user, dispatch):
        abort(403)
    return dispatch


def _flash_form_errors(form) -> None:
    if form.version.errors:
        flash(_("The form is incomplete. Please reload the page and try again."), "error")
        return
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")


@bp.route("/<bigid:dispatch_id>/move", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def move(dispatch_id: int):
    """Record one move; a form read at an older version is refused with the current stage."""
    dispatch = _movable(dispatch_id)
    form = MoveForm(moves=ops.allowed_moves(dispatch, current_user))
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for(".view", dispatch_id=dispatch.id))
    try:
        ops.move_dispatch(dispatch, form.to_stage.data, current_user,
                          expected_version=form.version.data,
                          happened_on=form.happened_on.data, note=form.note.data or None)
    except ops.StaleDispatch as err:
        db.session.rollback()  # drop what this request read: the page shows the row as it is
        dispatch = _load(dispatch_id)
        message = _("This dispatch was changed by someone else meanwhile: it is now at the "
                    "stage “%(stage)s”. Nothing was recorded; check the page and choose "
                    "again.", stage=stage_label(err.current_stage or dispatch.stage))
        return _render_view(dispatch, status=409, stale=message)
    except ops.DispatchError as err:
        flash(str(err.message), "error")
        return redirect(url_for(".view", dispatch_id=dispatch.id))
    log.info("dispatch %s moved to %s by %s", dispatch.id, dispatch.stage, current_user.email)
    flash(_("The dispatch is now at the stage “%(stage)s”.", stage=stage_label(dispatch.stage)),
          "success")
    return redirect(url_for(".view", dispatch_id=dispatch.id))


@bp.route("/<bigid:dispatch_id>/edit", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def edit(dispatch_id: int):
    """Change the planned departure (the date documents must stay valid until)."""
    dispatch = _movable(dispatch_id)
    form = PlannedDepartureForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for(".view", dispatch_id=dispatch.id))
    try:
        ops.update_dispatch(dispatch, current_user, expected_version=form.version.data,
                            planned_departure=form.planned_departure.data)
    except ops.StaleDispatch:
        db.session.rollback()
        flash(_("This dispatch was changed by someone else meanwhile. Nothing was saved; "
                "check the page and enter the date again."), "warning")
    except ops.DispatchError as err:
        flash(str(err.message), "error")
    else:
        flash(_("The planned departure has been saved."), "success")
    return redirect(url_for(".view", dispatch_id=dispatch.id))


# -- documents -------------------------------------------------------------------------------


@bp.route("/<bigid:dispatch_id>/documents", methods=["POST"])
@access.roles_required(*access.DISPATCH_MOVERS)
def add_document(dispatch_id: int):
    dispatch = _movable(dispatch_id)
    form = DocumentForm()
    if form.validate_on_submit():
        try:
            ops.add_document(current_user, dispatch=dispatch, **form.document_data())
        except ops.DispatchError as err:
            show_refusal(form, err)
        else:
            flash(_("The document “%(kind)s” has been added.",
                    kind=document_kind_label(form.kind.data)), "success")
            return redirect(url_for(".view", dispatch_id=dispatch.id, _anchor="documents"))
    return _render_view(dispatch, document_form=form)


def _recordable_document(dispatch: Dispatch, document_id: int, *, missing_ok: bool = False
                         ) -> Document | None:
    """A current document shown on ``dispatch``'s page that the user may replace or withdraw:
    404 when not shown to them, 403 when they may not record it."""
    document = db.session.scalar(access.dispatch_documents_select(current_user, dispatch)
                                 .where(Document.id == document_id))
    if document is None or (missing_ok and not document.is_current):
        if missing_ok:
            return None
        abort(404)
    owner_dispatch = dispatch if document.dispatch_id is not None else None
    if not access.can_record_document(current_user, owner_dispatch,
                                      None if owner_dispatch else dispatch.trainee):
        if missing_ok:
            return None
        abort(403)
    return document


@bp.route("/<bigid:dispatch_id>/documents/<bigid:document_id>/replace", methods=["POST"])
@access.roles_required(*access.DISPATCH_READERS)
def replace_document(dispatch_id: int, document_id: int):
    """Record the new version of a document; the old one stays in the history."""
    dispatch = _load(dispatch_id)
    old = _recordable_document(dispatch, document_id)
    form = DocumentForm(replacing=old)
    if form.validate_on_submit():
        try:
            ops.replace_document(current_user, old, number=form.number.data or None,
                                 issued_on=form.issued_on.data,
                                 expires_on=form.expires_on.data,
                                 upload=form.document_data()["upload"])
        except ops.DispatchError as err:
            if err.code == "stale":
                db.session.rollback()
                flash(str(err.message), "warning")
                return redirect(url_for(".view", dispatch_id=dispatch_id, _anchor="documents"))
            show_refusal(form, err)
        else:
            flash(_("The document “%(kind)s” has been replaced; the previous one is kept in "
                    "the history.", kind=document_kind_label(old.kind)), "success")
            return redirect(url_for(".view", dispatch_id=dispatch.id, _anchor="documents"))
    return _render_view(dispatch, replace_form=form)


@bp.route("/<bigid:dispatch_id>/documents/<bigid:document_id>/withdraw", methods=["POST"])
@access.roles_required(*access.DISPATCH_READERS)
def withdraw_document(dispatch_id: int, document_id: int):
    """Withdraw a document recorded by mistake, with the reason."""
    dispatch = _load(dispatch_id)
    document = _recordable_document(dispatch, document_id)
    form = WithdrawDocumentForm()
    if form.validate_on_submit():
        try:
            ops.withdraw_document(current_user, document, form.reason.data)
        except ops.DispatchError as err:
            db.session.rollback()
            flash(str(err.message), "warning" if err.code == "stale" else "error")
            return redirect(url_for(".view", dispatch_id=dispatch_id, _anchor="documents"))
        flash(_("The document “%(kind)s” has been withdrawn; it stays in the history.",
                kind=document_kind_label(document.kind)), "success")
        return redirect(url_for(".view", dispatch_id=dispatch.id, _anchor="documents"))
    return _render_view(dispatch, withdraw_form=form, withdrawing=document.id)


@bp.route("/<bigid:dispatch_id>/documents/<bigid:document_id>/file")
@access.roles_required(*access.DISPATCH_READERS)
def document_file(dispatch_id: int, document_id: int):
    """Download a document's file: anyone who may see the dispatch; never cached."""
    dispatch, document = access.get_dispatch_document_or_404(current_user, dispatch_id,
                                                             document_id)
    log.info("document %s of dispatch %s downloaded by %s", document.id, dispatch.id,
             current_user.email)
    # Streamed from the store in chunks; opened by the first chunk and closed by the last
    # (or when the response closes), so no file or connection outlives the download.
    return stored_file(document, f"document-{document.id}")
