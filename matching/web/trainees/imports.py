"""Bulk import of trainees from CSV / XLSX: upload → preview (a dry run) → confirm.

The file waits between the two steps in ``web.uploads`` (see there); confirm re-reads and
re-validates it: the registry may have changed since the preview.
"""

import csv
import io

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matching import access
from matching.formats import TRAINEE_REQUIRED
from matching.operations.imports import KNOWN_COLUMNS, ImportResult, import_trainees_file
from matching.vocab import province_name
from matching.web.trainees import bp
from matching.web.uploads import ERRORS_SHOWN, ConfirmForm, ImportForm, PendingUploads

PENDING = PendingUploads("trainee_import")


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required("admin", "department")
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    _require_import_right()
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("trainees/import_upload.html", form=form,
                               required=TRAINEE_REQUIRED, columns=KNOWN_COLUMNS)
    result, filename = PENDING.check(form.file.data, _run)
    return _preview(result, filename)


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required("admin", "department")
def import_confirm():
    """Import the file checked by the preview, after checking it again."""
    _require_import_right()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    done = PENDING.confirm(_run)
    if done is None:
        flash(_("There is no checked file waiting to be imported. Please upload the file "
                "again."), "warning")
        return redirect(url_for("trainees.import_upload"))
    result, filename = done
    if not result.ok:
        return _preview(result, filename)
    flash(_("Imported %(rows)d rows: %(created)d created, %(updated)d updated.",
            rows=result.rows, created=result.created, updated=result.updated), "success")
    return redirect(url_for("trainees.index"))


@bp.route("/import/template.csv")
@access.roles_required("admin", "department")
def import_template():
    """An example CSV: the header row and one row a user can overwrite."""
    province = access.import_province_scope(current_user) or "nghe-an"
    example = {
        "external_id": "T0001", "full_name": "Nguyễn Văn An", "date_of_birth": "2002-05-14",
        "gender": "M", "province": province_name(province, "vi"),
        "school": "Trường Cao đẳng Kỹ thuật", "field": "construction",
        "skills": "formwork;rebar", "japanese_level": "N4", "training_hours": "600",
        "experience_years": "1.5", "preferred_prefectures": "aichi;osaka",
        "available_from": "2026-10-01", "email": "an.nguyen@example.org",
        "phone": "0912 345 678", "consent": "yes", "name_kana": "グエン・ヴァン・アン",
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(KNOWN_COLUMNS)
    writer.writerow([example.get(column, "") for column in KNOWN_COLUMNS])
    # The BOM makes Excel open the file as UTF-8, so Vietnamese letters survive.
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=trainees-template.csv"})


# -- helpers --------------------------------------------------------------------------------


def _require_import_right() -> None:
    # A department account without a province has no registry to import into.
    if not access.can_register_trainees(current_user):
        abort(403)


def _run(stream, filename: str, dry_run: bool) -> ImportResult:
    user = current_user._get_current_object()
    return import_trainees_file(stream, filename, user=user, dry_run=dry_run,
                                province_scope=access.import_province_scope(user))


def _preview(result: ImportResult, filename: str) -> str:
    return render_template("trainees/import_preview.html", result=result, filename=filename,
                           errors=result.errors[:ERRORS_SHOWN], form=ConfirmForm())
