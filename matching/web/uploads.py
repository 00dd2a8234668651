"""Import files waiting between the preview (a dry run) and the confirm step.

Every import page works the same way: the user uploads a file, sees what a dry run would do,
then confirms. The file waits in between in ``instance/imports`` under a random name; only
that name's token lives in the session, so a form can never point the confirm step at
another path. Confirm re-reads and re-validates the file: the data may have changed since
the preview. One pending upload per session and importer; abandoned ones are removed after
a day.
"""

import os
import re
import secrets
import time
from collections.abc import Callable
from typing import BinaryIO

from flask import current_app, session
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import SubmitField

from matching.i18n import _l
from matching.operations.tables import ImportResult

UPLOAD_MAX_AGE = 24 * 3600  # seconds an abandoned upload is kept
ERRORS_SHOWN = 1000  # a page listing more problems than this helps nobody
EXTENSIONS = (".csv", ".xlsx")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")

#: Runs an importer on an open file: ``run(stream, filename, dry_run)``.
Runner = Callable[[BinaryIO, str, bool], ImportResult]


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"), validators=[
        FileRequired(_l("Choose a file to import.")),
        FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
    ])
    submit = SubmitField(_l("Check the file"))


class ConfirmForm(FlaskForm):
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
            session[self.session_key] = {"token": token, "ext": ext, "name": filename}
        else:
            os.remove(path)  # nothing can be confirmed: the user fixes the file and uploads again
        return result, filename

    def confirm(self, run: Runner) -> tuple[ImportResult, str] | None:
        """Import the pending file for real (it is used up); ``None`` when there is none."""
        pending = session.pop(self.session_key, None)
        path = _pending_path(pending)
        if path is None or not os.path.isfile(path):
            return None
        filename = pending.get("name", "")
        try:
            return _run(run, path, filename, dry_run=False), filename
        finally:
            os.remove(path)

    def discard(self) -> None:
        """Forget this session's pending upload and remove its file."""
        path = _pending_path(session.pop(self.session_key, None))
        if path and os.path.isfile(path):
            os.remove(path)


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
