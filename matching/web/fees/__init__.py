from flask import Blueprint

bp = Blueprint("fees", __name__)

from matching.web.fees import imports, routes  # noqa: E402,F401
