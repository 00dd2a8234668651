"""Bulk stage updates from CSV / XLSX: upload → preview (a dry run) → confirm.

The same three steps as the trainee import (``web.uploads``): nothing moves before the
user has seen every row's move and confirmed; confirm re-reads and re-checks the file, the
dispatches may have moved since the preview. Any bad row → nothing is written.
"""

import csv
import io

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matching import access
from matching.models import EXITS, STAGES
from matching.operations import status_imports
from matching.operations.tables import ImportResult
from matching.web.dispatch import bp
from matching.web.uploads import ERRORS_SHOWN, ConfirmForm, ImportForm, PendingUploads

PENDING = PendingUploads("status_import")
MOVERS = ("admin", "agency")
#: The template's example row.
EXAMPLE = {"trainee_external_id": "T0001", "job_order_external_id": "JO-2026-001",
           "stage": "contracted", "date": "2026-03-02", "note": "",
           "trainee_province": "nghe-an"}


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required(*MOVERS)
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("dispatch/import_upload.html", form=form,
                               columns=status_imports.KNOWN_COLUMNS,
                               required=status_imports.STATUS_COLUMNS,
                               stage_codes=(*STAGES, *EXITS))
    result, filename = PENDING.check(form.file.data, _run)
    return _preview(result, filename)


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required(*MOVERS)
def import_confirm():
    """Apply the moves of the file checked by the preview, after checking it again."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = PENDING.confirm(_run)
    if done is None:
        flash(_("There is no checked file waiting to be imported. Please upload the file "
                "again."), "warning")
        return redirect(url_for("dispatch.import_upload"))
    result, filename = done
    if not result.ok:
        return _preview(result, filename)
    flash(_("Imported %(rows)d rows: %(moves)d moves recorded on %(dispatches)d dispatches, "
            "%(unchanged)d rows already on record.", rows=result.rows, moves=result.created,
            dispatches=result.updated, unchanged=result.unchanged), "success")
    return redirect(url_for("dispatch.board"))


@bp.route("/import/template.csv")
@access.roles_required(*MOVERS)
def import_template():
    """An example CSV: the header row and one row a user can overwrite."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(status_imports.KNOWN_COLUMNS)
    writer.writerow([EXAMPLE.get(c, "") for c in status_imports.KNOWN_COLUMNS])
    # The BOM makes Excel open the file as UTF-8, so Vietnamese letters survive.
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=dispatch-stages-template.csv"})


def _run(stream, filename: str, dry_run: bool) -> ImportResult:
    return status_imports.import_statuses_file(
        stream, filename, user=current_user._get_current_object(), dry_run=dry_run)


def _preview(result: ImportResult, filename: str) -> str:
    return render_template("dispatch/import_preview.html", result=result, filename=filename,
                           errors=result.errors[:ERRORS_SHOWN], form=ConfirmForm())
