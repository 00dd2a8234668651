"""Bulk import of job orders from CSV / XLSX: upload → preview (a dry run) → confirm.

The same flow as the trainee import (the file waits in ``web.uploads``). An employer's rows
must name its own organisation; an administrator's may name any employer, and an unknown
employer name creates that employer (the preview says which).
"""

import csv
import io

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matching import access
from matching.operations.job_imports import (
    JOB_ORDER_COLUMNS,
    JOB_ORDER_REQUIRED,
    KNOWN_COLUMNS,
    JobImportResult,
    import_job_orders_file,
)
from matching.web.jobs import bp
from matching.web.jobs.routes import MANAGERS
from matching.web.uploads import ERRORS_SHOWN, ConfirmForm, ImportForm, PendingUploads

PENDING = PendingUploads("job_import")

#: The example row of the template; the employer cell is filled per user.
_EXAMPLE = {
    "external_id": "JO-2026-001", "employer": "Sakura Foods Co., Ltd.",
    "title": "Food processing line worker", "field": "food_manufacturing",
    "required_skills": "food-hygiene;haccp", "preferred_skills": "packaging",
    "min_japanese_level": "N4", "headcount": "3", "prefecture": "aichi",
    "monthly_salary_jpy": "215000", "start_date": "2026-10-01", "visa_track": "SSW1",
    "agency": "", "status": "open",
}


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required(*MANAGERS)
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    _require_import_right()
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("jobs/import_upload.html", form=form,
                               required=JOB_ORDER_REQUIRED, columns=JOB_ORDER_COLUMNS,
                               optional=[c for c in KNOWN_COLUMNS
                                         if c not in JOB_ORDER_COLUMNS])
    result, filename = PENDING.check(form.file.data, _run)
    return _preview(result, filename)


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required(*MANAGERS)
def import_confirm():
    """Import the file checked by the preview, after checking it again."""
    _require_import_right()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = PENDING.confirm(_run)
    if done is None:
        flash(_("There is no checked file waiting to be imported. Please upload the file "
                "again."), "warning")
        return redirect(url_for("jobs.import_upload"))
    result, filename = done
    if not result.ok:
        return _preview(result, filename)
    flash(_("Imported %(rows)d rows: %(created)d created, %(updated)d updated.",
            rows=result.rows, created=result.created, updated=result.updated), "success")
    return redirect(url_for("jobs.index"))


@bp.route("/import/template.csv")
@access.roles_required(*MANAGERS)
def import_template():
    """An example CSV: the header row and one row the user can overwrite."""
    _require_import_right()
    example = dict(_EXAMPLE)
    if current_user.role == "employer":
        example["employer"] = current_user.organisation.code  # its own: importable as is
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(KNOWN_COLUMNS)
    writer.writerow([example.get(column, "") for column in KNOWN_COLUMNS])
    # The BOM makes Excel open the file as UTF-8, so Japanese titles survive.
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=job-orders-template.csv"})


def _require_import_right() -> None:
    if not access.can_import_job_data(current_user):
        abort(403)


def _run(stream, filename: str, dry_run: bool) -> JobImportResult:
    return import_job_orders_file(stream, filename, user=current_user._get_current_object(),
                                  dry_run=dry_run)


def _preview(result: JobImportResult, filename: str) -> str:
    return render_template("jobs/import_preview.html", result=result, filename=filename,
                           errors=result.errors[:ERRORS_SHOWN], form=ConfirmForm())
