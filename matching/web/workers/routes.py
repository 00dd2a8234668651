"""The department invites a trainee to their own page, and can cancel the invitation or
revoke the account; the worker opens the one-time link and chooses a password.

The link's secret is shown only to the department that made it, right after making it: it
is kept in that department user's (signed, HTTP-only) session until the invitation is used
or cancelled, never in the database (only its digest is).
"""

import logging

import segno
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from matching import access
from matching.extensions import db
from matching.models import Grievance, Trainee
from matching.models._common import utcnow
from matching.operations import workers as ops
from matching.operations.accounts import AccountError
from matching.operations.grievances import is_overdue
from matching.web.forms import EmptyForm, show_refusal
from matching.web.workers import bp
from matching.web.workers.forms import AcceptInvitationForm

log = logging.getLogger(__name__)

_SHOWN = "worker_invitation_links"  # session: trainee id -> (invitation id, secret)


def _trainee(trainee_id: int) -> Trainee:
    trainee = access.get_trainee_or_404(current_user, trainee_id)
    if not access.can_manage_worker_account(current_user, trainee):
        abort(403)
    return trainee


def _check_button() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _shown_link(trainee: Trainee, invitation) -> str | None:
    """The link of ``invitation`` if this session made it (else it cannot be shown again)."""
    kept = session.get(_SHOWN, {}).get(str(trainee.id))
    if invitation is None or not kept or kept[0] != invitation.id:
        return None
    # Vietnamese from the first page (the worker may switch).
    return url_for(".accept", token=kept[1], lang="vi", _external=True)


def _forget_link(trainee: Trainee) -> None:
    links = dict(session.get(_SHOWN, {}))
    if links.pop(str(trainee.id), None) is not None:
        session[_SHOWN] = links


def qr_svg(link: str) -> Markup:
    """The link as a QR code, an inline SVG without style or script (CSP)."""
    svg = segno.make(link, error="m").svg_inline(scale=1, omitsize=True, border=2)
    return Markup(svg)


def worker_summary(trainee: Trainee) -> dict:
    """The trainee page's worker box (a template global of ``matching.web.templates``): the
    account, a pending invitation, and the trainee's grievances the current user may read."""
    grievances = db.session.scalars(
        access.grievances_select(current_user).where(Grievance.trainee_id == trainee.id)
        .order_by(Grievance.created_at.desc(), Grievance.id.desc())).all()
    return {"account": ops.worker_account(trainee),
            "invitation": ops.pending_invitation(trainee), "grievances": grievances,
            "can_manage": access.can_manage_worker_account(current_user, trainee),
            "can_file": access.can_file_grievance_for(current_user, trainee),
            "is_overdue": is_overdue}


@bp.route("/trainees/<int:trainee_id>/account")
@access.roles_required(*access.REGISTRARS)
def account(trainee_id: int):
    trainee = _trainee(trainee_id)
    invitation = ops.pending_invitation(trainee)
    link = _shown_link(trainee, invitation)
    return render_template("workers/account.html", trainee=trainee,
                           worker=ops.worker_account(trainee), invitation=invitation,
                           link=link, qr=qr_svg(link) if link else None, now=utcnow())


@bp.route("/trainees/<int:trainee_id>/account/invite", methods=["POST"])
@access.roles_required(*access.REGISTRARS)
def invite(trainee_id: int):
    trainee = _trainee(trainee_id)
    _check_button()
    try:
        invitation, token = ops.invite_worker(current_user, trainee)
    except AccountError as err:
        flash(str(err.message), "error")
    else:
        # Only this session may show the link again (the database keeps its digest).
        session[_SHOWN] = dict(session.get(_SHOWN, {})) | {
            str(trainee.id): [invitation.id, token]}
        flash(_("The invitation link is ready: print it or send it to the trainee. It can "
                "be used once, within 14 days."), "success")
    return redirect(url_for(".account", trainee_id=trainee.id))


@bp.route("/trainees/<int:trainee_id>/account/cancel", methods=["POST"])
@access.roles_required(*access.REGISTRARS)
def cancel(trainee_id: int):
    trainee = _trainee(trainee_id)
    _check_button()
    if ops.revoke_invitation(current_user, trainee):
        flash(_("The invitation link has been cancelled: it no longer opens anything."),
              "success")
    _forget_link(trainee)
    return redirect(url_for(".account", trainee_id=trainee.id))


@bp.route("/trainees/<int:trainee_id>/account/revoke", methods=["POST"])
@access.roles_required(*access.REGISTRARS)
def revoke(trainee_id: int):
    trainee = _trainee(trainee_id)
    _check_button()
    account = ops.revoke_worker(current_user, trainee)
    _forget_link(trainee)
    if account is not None:
        flash(_("The worker's account is closed: they have been logged out everywhere and "
                "can no longer log in. A new invitation opens it again."), "success")
    return redirect(url_for(".account", trainee_id=trainee.id))


@bp.route("/welcome", methods=["GET", "POST"])
def accept():
    """The invitation link: the worker chooses a password and is logged in.

    The secret travels in the query string, not the path, so the request log (which writes
    paths) never holds a usable link."""
    token = request.args.get("token", "")
    invitation = ops.invitation_for_token(token)
    if invitation is None:
        return render_template("workers/link_invalid.html"), 404
    form = AcceptInvitationForm(data={"email": invitation.trainee.email or ""})
    if form.validate_on_submit():
        try:
            user = ops.accept_invitation(token, email=form.email.data,
                                         password=form.password.data)
        except AccountError as err:
            if err.code == "invalid_link":
                return render_template("workers/link_invalid.html"), 404
            show_refusal(form, err)
        else:
            if current_user.is_authenticated:
                logout_user()  # a department user trying the link on their own computer
            login_user(user)
            flash(_("Welcome! This is your own page."), "success")
            return redirect(url_for("worker.home"))
    return render_template("workers/accept.html", form=form, trainee=invitation.trainee,
                           action=url_for(".accept", token=token))
