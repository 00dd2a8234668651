"""The regional picture (issue 13 §5): per province, registration to deployment, what
workers paid, the fee flags, grievances and the exposure ratio; the admin every province,
a department its own."""

from flask import Blueprint

bp = Blueprint("regions", __name__)

from matching.web.regions import routes  # noqa: E402,F401
