"""Worker accounts, the department's side (invite a trainee, cancel, revoke) and the
invitation link the worker opens (issue 13 §3)."""

from flask import Blueprint

bp = Blueprint("workers", __name__)

from matching.web.workers import routes  # noqa: E402,F401
