from flask import Blueprint

bp = Blueprint("admin", __name__)

from matching.web.admin import fairness, routes, skills  # noqa: E402,F401
