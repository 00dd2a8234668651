"""The import pages' shared steps: upload → preview (a dry run) → confirm, and the template.

Every import page works the same way (``ImportPages``): the user uploads a file, sees what a
dry run would do, then confirms. The file waits in between in ``instance/imports`` under a
random name; only that name's token lives in the session, so a form can never point the
confirm step at another path. Confirm re-reads and re-validates the file: the data may have
changed since the preview. One pending upload per session and importer; abandoned ones are
removed after a day.

A file of more than ``JOBS_IMPORT_THRESHOLD`` rows is imported by a background task
(``matching.background``): confirm hands its bytes to the task's row and sends the user to
the task's page, which shows the progress and the outcome. Small files are imported in the
request, as before; either way in one transaction, all or nothing."""

import csv
import io
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import BinaryIO

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage
from wtforms import SubmitField

from matching import background
from matching.formulas import neutralised
from matching.i18n import _l, locale_code
from matching.import_templates import template_workbook
from matching.operations.imports.parsing import ImportResult
from matching.operations.imports.runners import RUNNERS
from matching.web.forms import BaseForm, EmptyForm

UPLOAD_MAX_AGE = 24 * 3600  # seconds an abandoned upload is kept
ERRORS_SHOWN = 1000  # a page listing more problems than this helps nobody
EXTENSIONS = (".csv", ".xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")

#: Runs an importer on an open file for the current user: ``run(stream, filename, dry_run)``.
Runner = Callable[[BinaryIO, str, bool], ImportResult]


class ImportForm(BaseForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"), validators=[
        FileRequired(_l("Choose a file to import.")),
        FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
    ])
    submit = SubmitField(_l("Check the file"))


class ConfirmForm(EmptyForm):
    """Only the CSRF token: what to import is the upload named in the session."""


class PendingUploads:
    """The upload of one importer (``session_key``) waiting for its confirm step."""

    def __init__(self, session_key: str):
        self.session_key = session_key

    def check(self, upload: FileStorage, run: Runner) -> tuple[ImportResult, str]:
        """Store ``upload``, dry-run it and keep it for the confirm step if it has no error.

        Returns the dry run's result and the file's name as the user sent it.
        """
        filename = os.path.basename(upload.filename or "")
        ext = os.path.splitext(filename)[1].lower()
        self.discard()  # a new upload replaces the pending one
        _clean_up_old_uploads()
        token = secrets.token_urlsafe(24)
        path = os.path.join(_upload_dir(), token + ext)
        upload.save(path)
        result = _run(run, path, filename, dry_run=True)
        if result.ok and ext in EXTENSIONS:
            session[self.session_key] = {"token": token, "ext": ext, "name": filename,
                                         "rows": result.rows}
        else:
            os.remove(path)  # nothing can be confirmed: the user fixes the file and uploads again
        return result, filename

    def claim(self) -> tuple[str, dict] | None:
        """The pending file, renamed for this request alone, and what the session said of
        it; ``None`` when there is none. The caller removes the file.

        The same session may send the confirm several times at once (a double click, six
        tabs): each request carries the same token, so the file itself is claimed, by an
        atomic rename to a name only this request knows. One request wins; the others find
        nothing pending.
        """
        pending = session.pop(self.session_key, None)
        path = _pending_path(pending)
        if path is None:
            return None
        claimed = f"{path}.{secrets.token_urlsafe(12)}.claimed"
        try:
            os.rename(path, claimed)
        except OSError:
            return None  # confirmed already (or by a concurrent request), or never uploaded
        return claimed, pending

    def discard(self) -> None:
        """Forget this session's pending upload and remove its file."""
        path = _pending_path(session.pop(self.session_key, None))
        if path:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass  # never stored, or claimed by a confirm in the meantime


class ImportPages:
    """The upload and confirm steps of one importer's pages.

    ``blueprint`` is the feature whose views call these (its ``import_upload`` page is where
    a user starts again); its ``<blueprint>/import_upload.html`` and ``import_preview.html``
    extend the shared ``_import_upload.html`` / ``_import_preview.html``. ``importer`` names
    the importer (``operations.imports.runners.RUNNERS``), run for the current user. After a
    confirmed import the user lands on ``done_endpoint`` of the blueprint with
    ``done_message(result)`` flashed, or on the background task's page for a large file.
    """

    #: Every importer's pages, by importer: the task page words an import's outcome with
    #: its ``done_message``.
    by_importer: dict[str, "ImportPages"] = {}

    def __init__(self, blueprint: str, session_key: str, importer: str, *,
                 done_endpoint: str = "index",
                 done_message: Callable[[ImportResult], str] | None = None):
        self.blueprint = blueprint
        self.pending = PendingUploads(session_key)
        self.importer = importer
        self.done_endpoint = done_endpoint
        self.done_message = done_message or _counts_message
        ImportPages.by_importer[importer] = self

    def run(self, stream: BinaryIO, filename: str, dry_run: bool) -> ImportResult:
        return RUNNERS[self.importer](stream, filename, current_user._get_current_object(),
                                      dry_run=dry_run)

    def upload(self, **context) -> str:
        """The upload form (``context`` describes the file format), or the preview of a dry
        run of the file just sent (with every error in it)."""
        form = ImportForm()
        if not form.validate_on_submit():
            return render_template(f"{self.blueprint}/import_upload.html", form=form, **context)
        result, filename = self.pending.check(form.file.data, self.run)
        return self.preview(result, filename)

    def confirm(self):
        """Import the file checked by the preview, after checking it again."""
        if not ConfirmForm().validate_on_submit():
            abort(400)
        claim = self.pending.claim()
        if claim is not None and claim[1].get("rows", 0) > current_app.config[
                "JOBS_IMPORT_THRESHOLD"]:
            return self._in_background(*claim)
        try:
            done = None if claim is None else self._import(*claim)
        except IntegrityError:
            # Another import wrote the same rows between our check and our write (the
            # importer has rolled back): nothing of this file was written.
            flash(_("Someone else imported the same records at the same moment, so nothing "
                    "was imported. Please upload the file again to check it against them."),
                  "warning")
            return redirect(url_for(f"{self.blueprint}.import_upload"))
        if done is None:
            flash(_("There is no checked file waiting to be imported. Please upload the file "
                    "again."), "warning")
            return redirect(url_for(f"{self.blueprint}.import_upload"))
        result, filename = done
        if not result.ok:
            return self.preview(result, filename)
        flash(self.done_message(result), "success")
        custom_skills = {str(w.message) for w in result.warnings if w.kind == "custom_skill"}
        if custom_skills:
            flash(ngettext("%(num)d skill was not in the vocabulary and was kept as typed "
                           "(a custom skill); an administrator can map it onto the vocabulary.",
                           "%(num)d skills were not in the vocabulary and were kept as typed "
                           "(custom skills); an administrator can map them onto the vocabulary.",
                           len(custom_skills)), "warning")
        return redirect(url_for(f"{self.blueprint}.{self.done_endpoint}"))

    def _import(self, claimed: str, pending: dict) -> tuple[ImportResult, str]:
        filename = pending.get("name", "")
        try:
            return _run(self.run, claimed, filename, dry_run=False), filename
        finally:
            os.remove(claimed)

    def _in_background(self, claimed: str, pending: dict):
        """Hand the claimed file to a background task and show its page."""
        try:
            with open(claimed, "rb") as stream:
                data = stream.read()
        finally:
            os.remove(claimed)
        task = background.enqueue("import", user=current_user._get_current_object(),
                                  payload=data, total=pending.get("rows"),
                                  importer=self.importer, filename=pending.get("name", ""),
                                  rows=pending.get("rows"), locale=locale_code())
        return redirect(url_for("tasks.view", task_id=task.id))

    def preview(self, result: ImportResult, filename: str) -> str:
        """What ``result`` would do (a dry run), or every problem it found."""
        return render_template(f"{self.blueprint}/import_preview.html", result=result,
                               filename=filename, errors=result.errors[:ERRORS_SHOWN],
                               form=ConfirmForm(), import_locale=locale_code())


def _counts_message(result: ImportResult) -> str:
    return _("Imported %(rows)d rows: %(created)d created, %(updated)d updated.",
             rows=result.rows, created=result.created, updated=result.updated)


def template_csv(columns: Sequence[str], example: dict[str, str], filename: str) -> Response:
    """An example CSV to download: the header row and one row a user can overwrite."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow(neutralised(example.get(column, "") for column in columns))
    # The BOM makes Excel open the file as UTF-8, so Vietnamese and Japanese letters survive.
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={filename}"})


def template_xlsx(format_name: str, filename: str, example: dict | None = None) -> Response:
    """The Excel template of ``format_name`` in the user's language (``import_templates``)."""
    body = template_workbook(format_name, locale_code(), example)
    return Response(body, mimetype=XLSX_MIMETYPE, headers={
        "Content-Disposition": f"attachment; filename={filename}"})


def _run(run: Runner, path: str, filename: str, *, dry_run: bool) -> ImportResult:
    with open(path, "rb") as stream:
        return run(stream, filename, dry_run)


def _upload_dir() -> str:
    path = os.path.join(current_app.instance_path, "imports")
    os.makedirs(path, exist_ok=True)
    return path


def _pending_path(pending) -> str | None:
    """The stored file of a pending upload, rebuilt from a checked token, never from input."""
    if not isinstance(pending, dict):
        return None
    token, ext = pending.get("token"), pending.get("ext")
    if not isinstance(token, str) or not _TOKEN.fullmatch(token) or ext not in EXTENSIONS:
        return None
    return os.path.join(_upload_dir(), token + ext)


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
