from flask import Blueprint

bp = Blueprint("admin", __name__)

from matching.web.admin import fairness, model, routes, skills  # noqa: E402,F401
