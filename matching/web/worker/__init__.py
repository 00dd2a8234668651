"""The worker's own page (issue 13 §3): their record, dispatch, contract, documents, fees
and grievances, and their monthly wage. Only themself, ever: every query goes through
``matching.access`` (``own_*``), and nothing here takes another person's id."""

from flask import Blueprint

bp = Blueprint("worker", __name__)

from matching.web.worker import routes  # noqa: E402,F401
