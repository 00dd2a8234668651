from flask import Blueprint

bp = Blueprint("trainees", __name__)

from matching.web.trainees import documents, imports, routes  # noqa: E402,F401
