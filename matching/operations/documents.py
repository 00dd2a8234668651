"""Documents of the dispatch pipeline: who owns them, their files, what each stage needs.

A document belongs to the dispatch or to the trainee, by kind. A trainee's papers follow the
person from one job order to the next; a dispatch's papers are issued for that job only:

| kind                 | belongs to | needed to count (and to be recorded)     |
|----------------------|------------|------------------------------------------|
| passport             | trainee    | number and expiry date                   |
| health_check         | trainee    | -                                        |
| tb_certificate       | trainee    | issue date (valid 180 days from it)      |
| language_certificate | trainee    | -                                        |
| contract             | dispatch   | -                                        |
| coe                  | dispatch   | number and issue date                    |
| visa                 | dispatch   | number, issue date and expiry date       |
| flight               | dispatch   | flight date (issued_on) or flight number |

A forward move needs documents (``REQUIRED_DOCUMENTS``): complete, and still valid on the
reference date, i.e. the planned departure, or the step's own date when that is later or
when no departure is planned:

| move to      | documents                               |
|--------------|-----------------------------------------|
| coe_applied  | TB certificate, valid on the step's date|
| coe_issued   | COE, issued on or after coe_applied     |
| visa_applied | passport                                |
| visa_issued  | visa                                    |
| departed     | flight (not after the planned departure), passport, visa |

Only a document's current version counts: one replaced by a newer one (``replace_document``:
the old row is kept, ``superseded``, pointing at its successor) or withdrawn as recorded by
mistake (``withdraw_document``: who, when and why on the row) stays in the history only.

Uploaded files go to the document store (``matching.storage``: ``instance/documents/``, or
an S3-compatible bucket) under a random name; the type is read from the first bytes (PDF,
JPEG or PNG), never trusted from the name, and the extension comes from that type; the size
is checked too, all before anything is stored. ``expiry`` watches expiry dates. Documents
and stage moves refuse with the same ``DispatchError`` (``matching.operations.errors``).
"""

import logging
import os
import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import LazyString
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from matching import access
from matching.extensions import db
from matching.i18n import _l, fmt_date
from matching.labels import DOCUMENT_KIND_LABELS, STAGE_LABELS
from matching.models import DOCUMENT_KINDS, Dispatch, Document, StatusEvent, Trainee
from matching.models._common import utcnow
from matching.models.dispatch import RECEIPT_KIND
from matching.operations.errors import DispatchError
from matching.storage import DocumentStore, document_store

log = logging.getLogger(__name__)

__all__ = ["DISPATCH_KINDS", "REQUIRED_DOCUMENTS", "TRAINEE_KINDS", "DispatchError",
           "add_document", "dispatch_documents", "document_key", "document_problems",
           "is_complete", "lazy_date", "missing_documents", "replace_document",
           "stage_dates", "store_upload", "valid_until", "withdraw_document"]

DISPATCH_KINDS = ("contract", "coe", "visa", "flight", RECEIPT_KIND)
TRAINEE_KINDS = ("passport", "health_check", "tb_certificate", "language_certificate")
#: target stage -> document kinds it needs (module docstring).
REQUIRED_DOCUMENTS: dict[str, tuple[str, ...]] = {
    # Japan's pre-entry tuberculosis screening (JPETS), required of Vietnamese applicants
    # since 2025-09-01: the COE application is filed with a TB clearance certificate.
    "coe_applied": ("tb_certificate",),
    "coe_issued": ("coe",),
    "visa_applied": ("passport",),
    "visa_issued": ("visa",),
    "departed": ("flight", "passport", "visa"),
}
#: Per kind, groups of fields: at least one field of each group must be filled in.
REQUIRED_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "passport": (("number",), ("expires_on",)),
    "coe": (("number",), ("issued_on",)),
    "visa": (("number",), ("issued_on",), ("expires_on",)),
    "flight": (("issued_on", "number"),),
    "tb_certificate": (("issued_on",),),
}
#: A TB clearance certificate is valid 180 days from its issue date (the chest X-ray).
TB_VALID_DAYS = 180
#: Target stages whose documents must be valid on the step's own date, not until the
#: departure: an application is judged on the day it is filed.
ON_STEP_DATE = ("coe_applied",)
WITHDRAW_REASON_LIMIT = 500  # the size of documents.withdraw_reason
FIELDS_MESSAGES = {
    "passport": _l("A passport needs its number and its expiry date."),
    "coe": _l("A COE needs its number and its issue date."),
    "visa": _l("A visa needs its number, its issue date and its expiry date."),
    "flight": _l("For a flight ticket, fill in “Issued on” (the flight date) or “Number” "
                 "(the flight number)."),
    "tb_certificate": _l("A tuberculosis certificate needs its issue date: it is valid for "
                         "%(days)d days from that date.", days=TB_VALID_DAYS),
}
NUMBER_LIMIT = 64  # the size of documents.number
FILE_NAME_LIMIT = 255
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: Magic numbers of the accepted files -> (extension, content type).
FILE_TYPES = (
    (b"%PDF-", ".pdf", "application/pdf"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
)
_STORED_NAME = re.compile(r"[0-9a-f]{32}\.(pdf|jpg|png)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: A flight's date is in the future; for every other document an issue date after tomorrow
#: is a typo (tomorrow allows for the time zones between Vietnam and Japan).
_FUTURE_ISSUE_OK = ("flight",)


def is_complete(document: Document) -> bool:
    """Whether ``document`` has the fields its kind needs (``REQUIRED_FIELDS``)."""
    return all(any(getattr(document, name) for name in group)
               for group in REQUIRED_FIELDS.get(document.kind, ()))


def valid_until(document: Document) -> date | None:
    """The last day ``document`` is valid: its expiry date; for a TB certificate, at most
    ``TB_VALID_DAYS`` after its issue date."""
    if document.kind == "tb_certificate" and document.issued_on is not None:
        limit = document.issued_on + timedelta(days=TB_VALID_DAYS)
        return min(limit, document.expires_on) if document.expires_on else limit
    return document.expires_on


def stage_dates(dispatch: Dispatch) -> dict[str, date]:
    """stage -> the day the dispatch reached it (each stage is reached once)."""
    return dict(db.session.execute(sa.select(StatusEvent.to_stage, StatusEvent.happened_on)
                                   .where(StatusEvent.dispatch_id == dispatch.id)).all())


def dispatch_documents(dispatch: Dispatch) -> list[Document]:
    """The dispatch's own documents and its trainee's, oldest first."""
    stmt = sa.select(Document).where(sa.or_(
        Document.dispatch_id == dispatch.id, Document.trainee_id == dispatch.trainee_id)
    ).order_by(Document.kind, Document.created_at, Document.id)
    return list(db.session.scalars(stmt))


# -- recording a document ----------------------------------------------------------------------


def add_document(user, *, dispatch: Dispatch | None = None, trainee: Trainee | None = None,
                 kind: str, number: str | None, issued_on: date | None,
                 expires_on: date | None, upload: FileStorage | None = None,
                 replaces: Document | None = None) -> Document:
    """Record a document (and its file) for a dispatch or a trainee, commit and return it.

    ``replaces``: the current document of the same kind and owner this one supersedes
    (``replace_document``), in the same transaction.

    The owner follows the kind (module docstring): a trainee's kind given with a dispatch
    goes to the dispatch's trainee. The dispatch's agency or an admin records documents;
    a trainee's papers also the trainee's department, or an agency dispatching the trainee.
    ``user`` None is the system. Raises ``DispatchError``; nothing is written then.
    """
    if kind not in DOCUMENT_KINDS and kind != RECEIPT_KIND:
        raise DispatchError(_l("Choose a kind of document from the list."), code="invalid",
                            field="kind")
    if kind in DISPATCH_KINDS:
        if dispatch is None:
            raise DispatchError(_l("This document belongs to a dispatch: record it on the "
                                   "dispatch page."), code="invalid", field="kind")
        owner = {"dispatch_id": dispatch.id}
    else:
        if dispatch is not None:
            if trainee is not None and trainee.id != dispatch.trainee_id:
                raise DispatchError(_l("This trainee is not the dispatch's worker."),
                                    code="invalid")
            trainee = dispatch.trainee
        if trainee is None:
            raise DispatchError(_l("This document belongs to a trainee."), code="invalid",
                                field="kind")
        owner = {"trainee_id": trainee.id}
    if not access.can_record_document(user, dispatch, trainee):
        raise DispatchError(_l("Only the dispatch agency or an administrator can record "
                               "documents of this worker."), code="forbidden")
    number = " ".join((number or "").split()) or None
    _check_fields(kind, number, issued_on, expires_on)
    if dispatch is not None:
        _check_dates(kind, issued_on, dispatch)
    if kind == "tb_certificate" and expires_on is None:
        # Shown and watched like any expiry date; the certificate says no other.
        expires_on = issued_on + timedelta(days=TB_VALID_DAYS)
    document = Document(kind=kind, number=number, issued_on=issued_on, expires_on=expires_on,
                        created_by_id=getattr(user, "id", None), **owner)
    if upload is not None and upload.filename:
        store_upload(upload, document)
    db.session.add(document)
    try:
        if replaces is not None:
            _supersede(replaces, document)
        db.session.flush()
    except Exception:
        db.session.rollback()  # removes the stored file too
        raise
    log.info("document %s (%s) recorded by %s", document.id, kind,
             getattr(user, "email", "system"))
    return document


def _check_dates(kind: str, issued_on: date | None, dispatch: Dispatch) -> None:
    """The dates a COE and a flight must keep with the dispatch's own (``date_problem``)."""
    error = date_problem(kind, issued_on, applied_on=stage_dates(dispatch).get("coe_applied")
                         if kind == "coe" else None,
                         planned_departure=dispatch.planned_departure)
    if error is not None:
        error.field = "issued_on"
        raise error


def date_problem(kind: str, issued_on: date | None, *, applied_on: date | None,
                 planned_departure: date | None) -> DispatchError | None:
    """A COE issued before it was applied for (the coe_applied step's date), a flight after
    the planned departure: refused when recorded and at the move."""
    if issued_on is None:
        return None
    if kind == "coe" and applied_on is not None and issued_on < applied_on:
        return DispatchError(_l("The COE cannot have been issued on %(issued)s, before it was "
                                "applied for on %(applied)s. Check the issue date.",
                                issued=lazy_date(issued_on), applied=lazy_date(applied_on)),
                             code="document_date")
    if kind == "flight" and planned_departure is not None and issued_on > planned_departure:
        return DispatchError(_l("The flight on %(flight)s is after the planned departure on "
                                "%(departure)s. Change the planned departure first if the "
                                "departure was postponed.", flight=lazy_date(issued_on),
                                departure=lazy_date(planned_departure)), code="document_date")
    return None


# -- replacing and withdrawing -----------------------------------------------------------------


def replace_document(user, old: Document, *, number: str | None, issued_on: date | None,
                     expires_on: date | None, upload: FileStorage | None = None) -> Document:
    """Record the successor of ``old`` (same kind, same owner); ``old`` is kept as
    ``superseded``, pointing at it. Who and when are the new row's ``created_by`` and
    ``created_at``. Raises ``DispatchError`` (nothing written) when ``old`` is no longer
    current or ``user`` may not record it."""
    if not old.is_current:
        raise DispatchError(_not_current(), code="stale")
    return add_document(user, dispatch=old.dispatch, trainee=old.trainee, kind=old.kind,
                        number=number, issued_on=issued_on, expires_on=expires_on,
                        upload=upload, replaces=old)


def withdraw_document(user, document: Document, reason: str | None) -> Document:
    """Withdraw ``document`` recorded by mistake: it no longer counts, and stays in the
    history with who, when and ``reason`` (required). Flushes; the caller commits."""
    if not access.can_record_document(user, document.dispatch,
                                      document.trainee if document.dispatch is None else None):
        raise DispatchError(_l("Only the dispatch agency or an administrator can record "
                               "documents of this worker."), code="forbidden")
    reason = " ".join((reason or "").split())
    if not reason:
        raise DispatchError(_l("Say why the document is withdrawn."), code="invalid",
                            field="reason")
    if len(reason) > WITHDRAW_REASON_LIMIT:
        raise DispatchError(_l("The reason can have at most %(max)d characters.",
                               max=WITHDRAW_REASON_LIMIT), code="invalid", field="reason")
    # The database decides: of two concurrent withdrawals (or a withdrawal and a
    # replacement) exactly one changes the row.
    changed = db.session.execute(
        sa.update(Document).where(Document.id == document.id, Document.status == "current")
        .values(status="withdrawn", withdrawn_at=utcnow(),
                withdrawn_by_id=getattr(user, "id", None), withdraw_reason=reason)
        .execution_options(synchronize_session="fetch")).rowcount
    if changed != 1:
        raise DispatchError(_not_current(), code="stale")
    db.session.flush()
    log.info("document %s (%s) withdrawn by %s", document.id, document.kind,
             getattr(user, "email", "system"))
    return document


def _supersede(old: Document, new: Document) -> None:
    if (old.kind, old.dispatch_id, old.trainee_id) != (new.kind, new.dispatch_id,
                                                        new.trainee_id):
        raise DispatchError(_l("A document can only be replaced by one of the same kind."),
                            code="invalid", field="kind")
    db.session.flush()  # the new row exists before the old one points at it
    changed = db.session.execute(
        sa.update(Document).where(Document.id == old.id, Document.status == "current")
        .values(status="superseded", replaced_by_id=new.id)
        .execution_options(synchronize_session="fetch")).rowcount
    if changed != 1:
        raise DispatchError(_not_current(), code="stale")
    log.info("document %s (%s) replaced by %s", old.id, old.kind, new.id)


def _not_current():
    return _l("This document has been replaced or withdrawn meanwhile: nothing was recorded. "
              "Reload the page to see its current version.")


def _check_fields(kind: str, number, issued_on, expires_on) -> None:
    if number and len(number) > NUMBER_LIMIT:
        raise DispatchError(_l("The number can have at most %(max)d characters.",
                               max=NUMBER_LIMIT), code="invalid", field="number")
    if issued_on and expires_on and expires_on < issued_on:
        raise DispatchError(_l("The expiry date cannot be before the issue date."), code="invalid",
                            field="expires_on")
    if issued_on and kind not in _FUTURE_ISSUE_OK and issued_on > date.today() + timedelta(1):
        raise DispatchError(_l("The issue date is in the future."), code="invalid",
                            field="issued_on")
    values = {"number": number, "issued_on": issued_on, "expires_on": expires_on}
    for group in REQUIRED_FIELDS.get(kind, ()):
        if not any(values[name] for name in group):
            raise DispatchError(FIELDS_MESSAGES[kind], code="invalid", field=group[0])


# -- files -------------------------------------------------------------------------------------


def max_document_bytes() -> int:
    return current_app.config.get("MAX_DOCUMENT_BYTES", MAX_DOCUMENT_BYTES)


def _store(upload: FileStorage, document: Document, store: DocumentStore) -> str:
    """Check the uploaded file, then write it to ``store``; fill the document's file columns;
    return its key."""
    limit = max_document_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise DispatchError(_l("The file is larger than %(max)d MB.",
                               max=limit // (1024 * 1024)), code="file", field="file")
    if not data:
        raise DispatchError(_l("The file is empty."), code="file", field="file")
    found = next(((ext, ctype) for magic, ext, ctype in FILE_TYPES if data.startswith(magic)),
                 None)
    if found is None:
        # The content decides, not the name: a renamed executable is still refused.
        raise DispatchError(_l("Only PDF, JPEG and PNG files can be attached."), code="file",
                            field="file")
    ext, content_type = found
    # 128 random bits: the key says nothing about the person or the document.
    key = secrets.token_hex(16) + ext
    store.put(key, data, content_type)
    document.file_name = _display_name(upload.filename) or key
    document.file_path = key
    document.content_type = content_type
    document.size = len(data)
    return key


def store_upload(upload: FileStorage, target) -> str:
    """Check ``upload`` (type from its content, size) and store it for ``target``: a
    document, or any row with the same file columns (a grievance's attachment). Until the
    request or command commits, the file belongs to the transaction: if it rolls back, the
    file goes with it (``_forget_stored_files``). Returns the file's key."""
    store = document_store()
    key = _store(upload, target, store)
    db.session.info.setdefault(_STORED_IN_TRANSACTION, []).append((store, key))
    return key


def _display_name(filename: str | None) -> str:
    """The name as uploaded, for display and download only: no folders, no control chars."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name)).strip()
    return name[-FILE_NAME_LIMIT:]


def document_key(document: Document) -> str | None:
    """The key of ``document``'s file in the document store, or None without one.

    Only a name this module generated is accepted, so a tampered row cannot point outside
    the documents folder or the bucket's prefix.
    """
    if not document.file_path or not _STORED_NAME.fullmatch(document.file_path):
        return None
    return document.file_path


# -- what a move needs ----------------------------------------------------------------------


def missing_documents(dispatch: Dispatch, to_stage: str) -> list[str]:
    """Kinds ``to_stage`` needs that are missing, incomplete or expire too early (as of
    today, with the dispatch's planned departure)."""
    dates = stage_dates(dispatch) if to_stage == "coe_issued" else None
    return [kind for kind, _error in document_problems(
        dispatch, to_stage, on=date.today(), planned_departure=dispatch.planned_departure,
        stage_dates=dates)]


def document_problems(dispatch: Dispatch, to_stage: str, *, on: date,
                      planned_departure: date | None,
                      documents: list[Document] | None = None,
                      stage_dates: dict[str, date] | None = None
                      ) -> list[tuple[str, DispatchError]]:
    """(kind, error) for each document ``to_stage`` needs and lacks on day ``on``.

    ``documents`` default to the dispatch's and its trainee's (an importer passes them
    preloaded); only current ones count (not replaced, not withdrawn). Of several current
    documents of a kind, the one valid the longest counts. ``stage_dates`` (stage -> day
    reached) tell when the COE was applied for; without them that check is skipped.
    """
    kinds = REQUIRED_DOCUMENTS.get(to_stage, ())
    if not kinds:
        return []
    if documents is None:
        documents = dispatch_documents(dispatch)
    step_only = to_stage in ON_STEP_DATE
    if step_only:
        reference, planned_departure = on, None
    else:
        reference = max(planned_departure, on) if planned_departure else on
    problems = []
    for kind in kinds:
        usable = [d for d in documents if d.kind == kind and d.is_current and is_complete(d)]
        if step_only:
            # A certificate issued after the application was not the one filed with it.
            usable = [d for d in usable if d.issued_on is None or d.issued_on <= on]
        if not usable:
            problems.append((kind, DispatchError(_missing(kind, to_stage),
                                                 code="missing_document")))
            continue
        # The one valid the longest; of equals, the latest recorded (not flushed yet: newest).
        best = max(usable, key=lambda d: (valid_until(d) or date.max, d.created_at is None,
                                          d.created_at or datetime.min))
        expires = valid_until(best)
        if expires is not None and expires < reference:
            problems.append((kind, DispatchError(
                _expired(best, expires, reference, planned_departure),
                code="expired_document")))
            continue
        error = date_problem(kind, best.issued_on,
                             applied_on=(stage_dates or {}).get("coe_applied"),
                             planned_departure=planned_departure)
        if error is not None:
            problems.append((kind, error))
    return problems


def _missing(kind: str, to_stage: str):
    stage = STAGE_LABELS.get(to_stage, to_stage)
    if kind == "coe":
        return _l("The COE, with its number and issue date, must be recorded before the "
                  "dispatch moves to “%(stage)s”.", stage=stage)
    if kind == "passport":
        return _l("The worker's passport, with its number and expiry date, must be recorded "
                  "before the dispatch moves to “%(stage)s”.", stage=stage)
    if kind == "visa":
        return _l("The visa, with its number, issue date and expiry date, must be recorded "
                  "before the dispatch moves to “%(stage)s”.", stage=stage)
    if kind == "flight":
        return _l("The flight, with its date or flight number, must be recorded before the "
                  "dispatch moves to “%(stage)s”.", stage=stage)
    if kind == "tb_certificate":
        return _l("A tuberculosis clearance certificate issued at most %(days)d days before "
                  "the application (Japan's pre-entry screening) must be recorded before the "
                  "dispatch moves to “%(stage)s”.", days=TB_VALID_DAYS, stage=stage)
    return _l("The document “%(document)s” must be recorded before the dispatch moves to "
              "“%(stage)s”.", document=DOCUMENT_KIND_LABELS.get(kind, kind), stage=stage)


def _expired(document: Document, expires: date, reference: date,
             planned_departure: date | None):
    values = {"document": DOCUMENT_KIND_LABELS.get(document.kind, document.kind),
              "number": document.number, "expires": lazy_date(expires)}
    # With and without a number: a sentence of its own each, not an empty slot in one.
    if reference == planned_departure:
        values["departure"] = lazy_date(planned_departure)
        if document.number:
            return _l("%(document)s %(number)s expires on %(expires)s, before the planned "
                      "departure on %(departure)s. Record the renewed document first.",
                      **values)
        return _l("The document “%(document)s” expires on %(expires)s, before the planned "
                  "departure on %(departure)s. Record the renewed document first.", **values)
    values["date"] = lazy_date(reference)
    if document.number:
        return _l("%(document)s %(number)s expired on %(expires)s, before %(date)s, the date "
                  "of this step. Record the renewed document first.", **values)
    return _l("The document “%(document)s” expired on %(expires)s, before %(date)s, the date "
              "of this step. Record the renewed document first.", **values)


def lazy_date(value: date) -> LazyString:
    """A date formatted in the locale of whoever finally reads the message."""
    return LazyString(fmt_date, value)


# -- files follow their transaction ------------------------------------------------------------

_STORED_IN_TRANSACTION = "matching.stored_document_files"


@sa.event.listens_for(Session, "after_commit")
def _keep_stored_files(session: Session) -> None:
    session.info.pop(_STORED_IN_TRANSACTION, None)


@sa.event.listens_for(Session, "after_rollback")
def _forget_stored_files(session: Session) -> None:
    """A rolled-back document leaves no orphan file behind: no row points at it."""
    for store, key in session.info.pop(_STORED_IN_TRANSACTION, ()):
        try:
            store.delete(key)
        except Exception as exc:  # a folder or an object store: log and go on
            log.warning("could not remove the stored file %s: %s", key, exc)
