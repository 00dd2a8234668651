"""Bulk import of job orders from CSV / XLSX: upload → preview (a dry run) → confirm.

The same flow as the trainee import (``web.uploads.ImportPages``). An employer's rows must
name its own organisation; an administrator's may name any employer, and an unknown
employer name creates that employer (the preview says which).
"""

from flask import abort
from flask_login import current_user

from matching import access
from matching.operations.imports.job_orders import (
    JOB_ORDER_COLUMNS,
    JOB_ORDER_REQUIRED,
    KNOWN_COLUMNS,
)
from matching.web.jobs import bp
from matching.web.uploads import ImportPages, template_csv, template_xlsx

#: The example row of the template; the employer cell is filled per user.
_EXAMPLE = {
    "external_id": "JO-2026-001", "employer": "Sakura Foods Co., Ltd.",
    "title": "Food processing line worker", "field": "food_manufacturing",
    "required_skills": "food-hygiene;haccp", "preferred_skills": "packaging",
    "min_japanese_level": "N4", "headcount": "3", "prefecture": "aichi",
    "monthly_salary_jpy": "215000", "start_date": "2026-10-01", "visa_track": "SSW1",
    "agency": "", "status": "open", "language_is_hard": "no", "start_window_days": "30",
}


PAGES = ImportPages("jobs", "job_import", "job_orders")


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required(*access.JOB_MANAGERS)
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    _require_import_right()
    return PAGES.upload(required=JOB_ORDER_REQUIRED, columns=JOB_ORDER_COLUMNS,
                        optional=[c for c in KNOWN_COLUMNS if c not in JOB_ORDER_COLUMNS])


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required(*access.JOB_MANAGERS)
def import_confirm():
    """Import the file checked by the preview, after checking it again."""
    _require_import_right()
    return PAGES.confirm()


@bp.route("/import/template.csv")
@access.roles_required(*access.JOB_MANAGERS)
def import_template():
    """An example CSV: the header row and one row the user can overwrite."""
    _require_import_right()
    example = dict(_EXAMPLE)
    if current_user.role == "employer":
        example["employer"] = current_user.organisation.code  # its own: importable as is
    return template_csv(KNOWN_COLUMNS, example, "job-orders-template.csv")


@bp.route("/import/template.xlsx")
@access.roles_required(*access.JOB_MANAGERS)
def import_template_xlsx():
    """The Excel template in the user's language: drop-down lists, date cells."""
    _require_import_right()
    example = {}
    if current_user.role == "employer":
        example["employer"] = current_user.organisation.code  # its own: importable as is
    return template_xlsx("job_orders", "job-orders-template.xlsx", example)


def _require_import_right() -> None:
    if not access.can_import_job_data(current_user):
        abort(403)
