"""Bulk import of trainees from CSV / XLSX: upload → preview (a dry run) → confirm.

The uploaded file waits between the two requests in ``instance/imports`` under a random
name; only that name's token lives in the session, so a form can never point the confirm
step at another path. Confirm re-reads and re-validates the file: the registry may have
changed since the preview.
"""

import csv
import io
import os
import re
import secrets
import time

from flask import Response, abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SubmitField

from matching import access
from matching.formats import TRAINEE_REQUIRED
from matching.i18n import _l
from matching.operations.imports import KNOWN_COLUMNS, ImportResult, import_trainees_file
from matching.vocab import province_name
from matching.web.trainees import bp

SESSION_KEY = "trainee_import"
UPLOAD_MAX_AGE = 24 * 3600  # seconds an abandoned upload is kept
ERRORS_SHOWN = 1000  # a page listing more problems than this helps nobody
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_EXTENSIONS = (".csv", ".xlsx")


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"), validators=[
        FileRequired(_l("Choose a file to import.")),
        FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
    ])
    submit = SubmitField(_l("Check the file"))


class ConfirmForm(FlaskForm):
    """Only the CSRF token: what to import is the upload named in the session."""


@bp.route("/import", methods=["GET", "POST"])
@access.roles_required("admin", "department")
def import_upload():
    """Upload a file; answer with the preview of a dry run (or every error in it)."""
    _require_import_right()
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("trainees/import_upload.html", form=form,
                               required=TRAINEE_REQUIRED, columns=KNOWN_COLUMNS)
    upload = form.file.data
    filename = os.path.basename(upload.filename or "")
    ext = os.path.splitext(filename)[1].lower()
    _discard(session.pop(SESSION_KEY, None))  # one pending upload per session
    _clean_up_old_uploads()
    token = secrets.token_urlsafe(24)
    path = os.path.join(_upload_dir(), token + ext)
    upload.save(path)
    result = _run(path, filename, dry_run=True)
    if result.ok:
        session[SESSION_KEY] = {"token": token, "ext": ext, "name": filename}
    else:
        os.remove(path)  # nothing can be confirmed: the user fixes the file and uploads again
    return _preview(result, filename)


@bp.route("/import/confirm", methods=["POST"])
@access.roles_required("admin", "department")
def import_confirm():
    """Import the file checked by the preview, after checking it again."""
    _require_import_right()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pending = session.pop(SESSION_KEY, None)
    path = _pending_path(pending)
    if path is None or not os.path.isfile(path):
        flash(_("There is no checked file waiting to be imported. Please upload the file "
                "again."), "warning")
        return redirect(url_for("trainees.import_upload"))
    try:
        result = _run(path, pending.get("name", ""), dry_run=False)
    finally:
        os.remove(path)
    if not result.ok:
        return _preview(result, pending.get("name", ""))
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


def _run(path: str, filename: str, *, dry_run: bool) -> ImportResult:
    user = current_user._get_current_object()
    with open(path, "rb") as stream:
        return import_trainees_file(stream, filename, user=user, dry_run=dry_run,
                                    province_scope=access.import_province_scope(user))


def _preview(result: ImportResult, filename: str) -> str:
    return render_template("trainees/import_preview.html", result=result, filename=filename,
                           errors=result.errors[:ERRORS_SHOWN], form=ConfirmForm())


def _upload_dir() -> str:
    path = os.path.join(current_app.instance_path, "imports")
    os.makedirs(path, exist_ok=True)
    return path


def _pending_path(pending) -> str | None:
    """The stored file of a pending upload, rebuilt from a checked token, never from input."""
    if not isinstance(pending, dict):
        return None
    token, ext = pending.get("token"), pending.get("ext")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token) or ext not in _EXTENSIONS:
        return None
    return os.path.join(_upload_dir(), token + ext)


def _discard(pending) -> None:
    path = _pending_path(pending)
    if path and os.path.isfile(path):
        os.remove(path)


def _clean_up_old_uploads() -> None:
    """Remove uploads nobody confirmed within a day (opportunistic, on each upload)."""
    limit = time.time() - UPLOAD_MAX_AGE
    with os.scandir(_upload_dir()) as entries:
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_mtime < limit:
                    os.remove(entry.path)
            except OSError:
                pass  # another request removed it first
