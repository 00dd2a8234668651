from flask import Blueprint

bp = Blueprint("jobs", __name__)

from matching.web.jobs import candidates, routes, uploads  # noqa: E402,F401
