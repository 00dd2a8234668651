"""Helpers of the worker and grievance tests (``from tests.workers import ...``)."""

import re

import sqlalchemy as sa

from matching.extensions import db
from matching.models import Organisation, User
from tests.conftest import _FAST_HASH, PASSWORD

__all__ = ["PASSWORD", "department_of", "invitation_link", "make_worker"]


def department_of(trainee) -> Organisation:
    """The department organisation of ``trainee``'s province (made if missing)."""
    org = db.session.scalar(sa.select(Organisation).where(
        Organisation.kind == "department", Organisation.province == trainee.province))
    if org is None:
        org = Organisation(kind="department", code=f"dept-{trainee.province}",
                           name=f"Sở Nội vụ {trainee.province}", province=trainee.province)
        db.session.add(org)
        db.session.commit()
    return org


def make_worker(trainee, email=None, **kw) -> User:
    """An active worker account of ``trainee`` (password ``PASSWORD``), as an accepted
    invitation leaves it."""
    user = User(email=email or f"worker-{trainee.id}@example.org", role="worker",
                organisation=department_of(trainee), trainee_id=trainee.id,
                password_hash=_FAST_HASH, name=trainee.full_name, locale="vi", **kw)
    db.session.add(user)
    db.session.commit()
    return user


def invitation_link(html: str) -> str:
    """The invitation link's path and query, as the department's page shows it."""
    found = re.search(r'id="invitation-link">https?://[^/]+(/welcome\?[^<"]+)<', html)
    assert found, "no invitation link on the page"
    return found.group(1).replace("&amp;", "&")
