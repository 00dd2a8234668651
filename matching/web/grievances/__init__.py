"""Grievances, the department's and the agency's side (issue 13 §4): the list with its
filters, one grievance with its history, its transitions, and filing on a worker's behalf."""

from flask import Blueprint

bp = Blueprint("grievances", __name__)

from matching.web.grievances import routes  # noqa: E402,F401
