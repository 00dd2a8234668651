from flask import Blueprint

bp = Blueprint("dispatch", __name__)

from matching.web.dispatch import imports, overviews, routes  # noqa: E402,F401
