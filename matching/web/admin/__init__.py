from flask import Blueprint

bp = Blueprint("admin", __name__)

from matching.web.admin import fairness, routes  # noqa: E402,F401
