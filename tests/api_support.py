"""Helpers of the API tests (issue 12): a bearer token for a user."""

from matching.extensions import db
from matching.operations.tokens import create_token


def bearer(user, name: str = "test") -> dict:
    """The ``Authorization`` header of a new API token of ``user`` (committed)."""
    _row, token = create_token(user, name)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}
