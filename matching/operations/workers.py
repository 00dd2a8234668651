"""Worker accounts (issue 13 §3): the department invites a trainee with a one-time link,
the worker chooses a password, the department can revoke the account.

The link carries a random secret; only its SHA-256 digest is stored, so the link is shown
once (to the department that made it) and a copy of the database opens nothing. A link is
valid ``INVITATION_DAYS`` days, used at most once (the row is locked while it is used, so two
browsers racing on one link cannot both get an account), and revocable. A new invitation
revokes the trainee's earlier pending ones. Revoking the account deactivates it and ends
every session at once (the per-user session token rotates).
"""

import hashlib
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa

from matching import access
from matching.extensions import db
from matching.i18n import _l
from matching.models import Organisation, Trainee, User, WorkerInvitation
from matching.models._common import utcnow
from matching.models.orgs import WORKER
from matching.models.workers import INVITATION_DAYS
from matching.operations.accounts import (
    AccountError,
    check_new_password,
    end_all_sessions,
    normalise_email,
)
from matching.operations.locks import lock_rows

log = logging.getLogger(__name__)

__all__ = ["accept_invitation", "invitation_for_token", "invite_worker", "pending_invitation",
           "revoke_invitation", "revoke_worker", "worker_account"]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def worker_account(trainee: Trainee) -> User | None:
    """The trainee's worker account (active or revoked), if one was ever opened."""
    return db.session.scalar(sa.select(User).where(User.trainee_id == trainee.id,
                                                   User.role == WORKER))


def pending_invitation(trainee: Trainee) -> WorkerInvitation | None:
    """The trainee's invitation that can still be used, if any (the latest)."""
    now = utcnow()
    return db.session.scalar(
        sa.select(WorkerInvitation).where(
            WorkerInvitation.trainee_id == trainee.id, WorkerInvitation.used_at.is_(None),
            WorkerInvitation.revoked_at.is_(None), WorkerInvitation.expires_at > now)
        .order_by(WorkerInvitation.id.desc()).limit(1))


def _department_of(user: User, trainee: Trainee) -> Organisation:
    """The organisation the worker's account belongs to: the inviting department, or (when
    an administrator invites) the department of the trainee's province."""
    if user.role == "department":
        return user.organisation
    org = db.session.scalar(
        sa.select(Organisation).where(Organisation.kind == "department",
                                      Organisation.province == trainee.province,
                                      Organisation.active.is_(True))
        .order_by(Organisation.id).limit(1))
    if org is None:
        raise AccountError(_l("The trainee's province has no labour department on the "
                              "platform: a worker account belongs to one."), code="invalid")
    return org


def invite_worker(user: User, trainee: Trainee) -> tuple[WorkerInvitation, str]:
    """A new one-time invitation for ``trainee`` and the secret of its link (shown once).

    Earlier pending invitations of the trainee are revoked. Flushes; the request commits.
    """
    if not access.can_manage_worker_account(user, trainee):
        raise AccountError(_l("Only the labour department of the trainee's province can "
                              "invite the trainee."), code="forbidden")
    _department_of(user, trainee)  # refuse now, not when the worker opens the link
    now = utcnow()
    _revoke_pending(trainee, user, now)
    token = secrets.token_urlsafe(32)
    invitation = WorkerInvitation(trainee_id=trainee.id, token_hash=_digest(token),
                                  created_by_id=user.id, created_at=now,
                                  expires_at=now + timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    log.info("worker invitation %s for trainee %s made by %s", invitation.id, trainee.id,
             user.email)
    return invitation, token


def _revoke_pending(trainee: Trainee, user: User | None, now) -> None:
    db.session.execute(
        sa.update(WorkerInvitation).where(
            WorkerInvitation.trainee_id == trainee.id, WorkerInvitation.used_at.is_(None),
            WorkerInvitation.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by_id=getattr(user, "id", None))
        .execution_options(synchronize_session="fetch"))


def invitation_for_token(token: str | None) -> WorkerInvitation | None:
    """The invitation a link's secret names while it can be used; None otherwise (unknown,
    used, revoked or expired: the page says the same for all, revealing nothing)."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(sa.select(WorkerInvitation).where(
        WorkerInvitation.token_hash == _digest(token)))
    if invitation is None or not invitation.is_pending(utcnow()):
        return None
    return invitation


def accept_invitation(token: str, *, email: str, password: str) -> User:
    """Open (or reopen) the worker account an invitation link names, with the worker's own
    e-mail and password; the link is used up. Raises ``AccountError``: ``code`` "invalid
    link" when the link can no longer be used (nothing written)."""
    invitation = invitation_for_token(token)
    if invitation is None:
        raise _link_refused()
    lock_rows(invitation)  # one link, one account: a second use waits, then is refused
    if not invitation.is_pending(utcnow()):
        raise _link_refused()
    check_new_password(password)
    email = normalise_email(email)
    if "@" not in email.strip("@") or len(email) > 254:
        raise AccountError(_l("Enter a valid e-mail address."), field="email")
    trainee = invitation.trainee
    user = worker_account(trainee)
    clash = db.session.scalar(sa.select(User.id).where(User.email == email))
    if clash is not None and (user is None or clash != user.id):
        raise AccountError(_l("This e-mail address is already used by another account. "
                              "Use another one, or ask the labour department."), field="email")
    inviter = db.session.get(User, invitation.created_by_id) if invitation.created_by_id else None
    if user is None:
        org = _department_of(inviter, trainee) if inviter is not None else None
        if org is None:
            raise _link_refused()
        # Vietnamese until the worker chooses another language (issue 13 §3).
        user = User(email=email, role=WORKER, organisation=org, trainee_id=trainee.id,
                    name=trainee.full_name, locale="vi")
        db.session.add(user)
    else:
        user.email, user.active = email, True
        end_all_sessions(user)  # a reopened account keeps no session from before
    user.set_password(password)
    invitation.used_at = utcnow()
    db.session.flush()
    log.info("worker account %s opened for trainee %s (invitation %s)", user.id, trainee.id,
             invitation.id)
    return user


def _link_refused() -> AccountError:
    return AccountError(_l("This invitation link can no longer be used: it has expired, has "
                           "been used or was cancelled. Ask the labour department for a new "
                           "one."), code="invalid_link")


def revoke_invitation(user: User, trainee: Trainee) -> int:
    """Cancel the trainee's pending invitations; returns how many. Flushes."""
    if not access.can_manage_worker_account(user, trainee):
        raise AccountError(_l("Only the labour department of the trainee's province can "
                              "invite the trainee."), code="forbidden")
    pending = db.session.scalar(sa.select(sa.func.count()).where(
        WorkerInvitation.trainee_id == trainee.id, WorkerInvitation.used_at.is_(None),
        WorkerInvitation.revoked_at.is_(None)))
    _revoke_pending(trainee, user, utcnow())
    db.session.flush()
    log.info("invitations of trainee %s cancelled by %s", trainee.id, user.email)
    return pending


def revoke_worker(user: User, trainee: Trainee) -> User | None:
    """Close the trainee's worker account: it can no longer log in, every session ends at
    once, and pending invitations are cancelled. A new invitation reopens it."""
    if not access.can_manage_worker_account(user, trainee):
        raise AccountError(_l("Only the labour department of the trainee's province can "
                              "invite the trainee."), code="forbidden")
    _revoke_pending(trainee, user, utcnow())
    account = worker_account(trainee)
    if account is not None and account.active:
        account.active = False
        end_all_sessions(account)
    db.session.flush()
    log.info("worker account of trainee %s revoked by %s", trainee.id, user.email)
    return account
