"""Documents: recording and uploads (owner, checks, storage) and the expiry engine.

The tests of stored files run with both document stores (``stored_files``): the instance
folder and a bucket of a real S3-protocol server."""

import io
import os
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from matching import access
from matching.extensions import db
from matching.models import Document
from matching.operations.dispatch import (
    DispatchError,
    add_document,
    dispatch_documents,
    document_key,
    expiring_documents,
)
from tests.conftest import FolderFiles, add_doc, open_dispatch

TODAY = date.today()
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20


def upload(data: bytes, name: str = "scan.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


@pytest.fixture
def dispatch(make_org, make_trainee, agency):
    return open_dispatch(make_org, make_trainee, stage="coe_applied", agency=agency)


# -- recording ----------------------------------------------------------------------------------


def test_a_pdf_is_stored_under_a_random_name(app, stored_files, dispatch, agent):
    doc = add_document(agent, dispatch=dispatch, kind="coe", number="  COE 2026  001 ",
                       issued_on=TODAY, expires_on=TODAY + timedelta(days=90),
                       upload=upload(PDF, "../../Giấy COE Nguyễn.pdf"))
    assert doc.id and doc.dispatch_id == dispatch.id and doc.trainee_id is None
    assert doc.number == "COE 2026 001"  # whitespace trimmed and collapsed
    assert doc.file_name == "Giấy COE Nguyễn.pdf"  # no folders kept
    assert doc.content_type == "application/pdf" and doc.size == len(PDF)
    assert doc.created_by_id == agent.id
    key = document_key(doc)
    assert stored_files.keys() == [key]
    assert len(key) == 36 and key.endswith(".pdf")
    assert "COE" not in key
    assert stored_files.read(key) == PDF
    if isinstance(stored_files, FolderFiles):  # the local store: in instance/documents/
        with open(os.path.join(app.instance_path, "documents", key), "rb") as stored:
            assert stored.read() == PDF
    again = add_document(agent, dispatch=dispatch, kind="contract", number=None,
                         issued_on=None, expires_on=None, upload=upload(PDF))
    assert again.file_path != doc.file_path


@pytest.mark.parametrize(("data", "name", "ext", "ctype"), [
    (PNG, "passport.pdf", ".png", "image/png"),      # the content decides, not the name
    (JPEG, "passport.PNG", ".jpg", "image/jpeg"),
    (PDF, "passport", ".pdf", "application/pdf"),
])
def test_the_type_is_read_from_the_content(stored_files, dispatch, agent, data, name, ext,
                                           ctype):
    doc = add_document(agent, dispatch=dispatch, kind="passport", number="B123",
                       issued_on=None, expires_on=TODAY + timedelta(days=900),
                       upload=upload(data, name))
    assert doc.file_path.endswith(ext) and doc.content_type == ctype
    assert stored_files.read(document_key(doc)) == data


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03" + b"\x00" * 40,         # a Windows executable named .pdf
    b"<html><script>alert(1)</script></html>",
    b"",
])
def test_other_files_are_refused_and_nothing_is_kept(stored_files, dispatch, agent, data):
    with pytest.raises(DispatchError) as refused:
        add_document(agent, dispatch=dispatch, kind="contract", number=None, issued_on=None,
                     expires_on=None, upload=upload(data, "contract.pdf"))
    assert refused.value.code == "file" and refused.value.field == "file"
    assert stored_files.keys() == []
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


def test_the_size_limit_is_10_mb(stored_files, dispatch, agent):
    limit = 10 * 1024 * 1024
    with pytest.raises(DispatchError, match="larger than 10 MB"):
        add_document(agent, dispatch=dispatch, kind="contract", number=None, issued_on=None,
                     expires_on=None, upload=upload(PDF + b"\x00" * (limit + 1 - len(PDF))))
    assert stored_files.keys() == []
    doc = add_document(agent, dispatch=dispatch, kind="contract", number=None, issued_on=None,
                       expires_on=None, upload=upload(PDF + b"\x00" * (limit - len(PDF))))
    assert doc.size == limit and len(stored_files.read(document_key(doc))) == limit


def test_a_document_without_a_file(stored_files, dispatch, agent):
    doc = add_document(agent, dispatch=dispatch, kind="flight", number="VN 300",
                       issued_on=TODAY + timedelta(days=20), expires_on=None)
    assert doc.file_path is None and document_key(doc) is None
    assert stored_files.keys() == []


@pytest.mark.parametrize(("kind", "values", "field", "message"), [
    ("visa", dict(number="V1", issued_on=TODAY, expires_on=TODAY - timedelta(days=1)),
     "expires_on", "cannot be before the issue date"),
    ("visa", dict(number="V1", issued_on=TODAY, expires_on=None),
     "expires_on", "A visa needs its number, its issue date and its expiry date."),
    ("coe", dict(number=" ", issued_on=TODAY, expires_on=None),
     "number", "A COE needs its number and its issue date."),
    ("passport", dict(number="P1", issued_on=None, expires_on=None),
     "expires_on", "A passport needs its number and its expiry date."),
    ("flight", dict(number=None, issued_on=None, expires_on=None),
     "issued_on", "For a flight ticket, fill in “Issued on” \\(the flight date\\) or "
                  "“Number” \\(the flight number\\)."),
    ("coe", dict(number="C1", issued_on=TODAY + timedelta(days=5), expires_on=None),
     "issued_on", "in the future"),
    ("coe", dict(number="C" * 65, issued_on=TODAY, expires_on=None),
     "number", "at most 64 characters"),
])
def test_fields_are_checked(dispatch, agent, kind, values, field, message):
    with pytest.raises(DispatchError, match=message) as refused:
        add_document(agent, dispatch=dispatch, kind=kind, **values)
    assert refused.value.field == field


def test_the_owner_follows_the_kind(dispatch, agent, make_trainee):
    passport = add_document(agent, dispatch=dispatch, kind="passport", number="B1",
                            issued_on=None, expires_on=TODAY + timedelta(days=900))
    assert (passport.trainee_id, passport.dispatch_id) == (dispatch.trainee_id, None)
    coe = add_document(agent, dispatch=dispatch, kind="coe", number="C1", issued_on=TODAY,
                       expires_on=None)
    assert (coe.trainee_id, coe.dispatch_id) == (None, dispatch.id)
    assert {d.id for d in dispatch_documents(dispatch)} == {passport.id, coe.id}
    with pytest.raises(DispatchError, match="belongs to a dispatch"):
        add_document(None, trainee=dispatch.trainee, kind="visa", number="V", issued_on=TODAY,
                     expires_on=TODAY)
    with pytest.raises(DispatchError, match="not the dispatch's worker"):
        add_document(agent, dispatch=dispatch, trainee=make_trainee(), kind="passport",
                     number="B2", issued_on=None, expires_on=TODAY + timedelta(days=9))
    with pytest.raises(DispatchError):
        add_document(agent, dispatch=dispatch, kind="driving_licence", number="X",
                     issued_on=None, expires_on=None)


def test_who_may_record(dispatch, agent, make_user, make_trainee):
    trainee = dispatch.trainee
    for outsider in (make_user(role="agency"), make_user(role="employer")):
        with pytest.raises(DispatchError) as refused:
            add_document(outsider, dispatch=dispatch, kind="coe", number="C", issued_on=TODAY,
                         expires_on=None)
        assert refused.value.code == "forbidden"
    # A trainee's papers: the department of the trainee's province, or the agency
    # dispatching the trainee.
    department = make_user(role="department", province=trainee.province)
    add_document(department, trainee=trainee, kind="health_check", number=None,
                 issued_on=TODAY, expires_on=None)
    add_document(agent, trainee=trainee, kind="tb_certificate", number=None, issued_on=TODAY,
                 expires_on=None)
    with pytest.raises(DispatchError):
        add_document(agent, trainee=make_trainee(), kind="health_check", number=None,
                     issued_on=TODAY, expires_on=None)
    with pytest.raises(DispatchError):
        add_document(make_user(role="department", province="ha-noi"), trainee=trainee,
                     kind="health_check", number=None, issued_on=TODAY, expires_on=None)


def test_a_tampered_file_path_is_never_served(dispatch):
    doc = add_doc(dispatch, "contract")
    for bad in ("../../config.py", "/etc/passwd", "a" * 32 + ".exe"):
        doc.file_path = bad
        assert document_key(doc) is None


# -- the expiry engine ---------------------------------------------------------------------------


@pytest.fixture
def board(make_org, make_trainee, agency):
    """Dispatches and documents around the 30-day horizon."""
    def make(stage="training", **kw):
        return open_dispatch(make_org, make_trainee, stage=stage, agency=agency, **kw)

    return make


def found(**kw) -> list[tuple]:
    return [(r.dispatch.id, r.kind, r.number, r.days_left, r.before_departure)
            for r in expiring_documents(**kw)]


def test_documents_expiring_within_the_window(board):
    d = board()
    add_doc(d, "passport", number="P-10", expires_on=TODAY + timedelta(days=10))
    add_doc(d, "coe", number="C-30", expires_on=TODAY + timedelta(days=30))
    add_doc(d, "visa", number="V-31", expires_on=TODAY + timedelta(days=31))
    add_doc(d, "tb_certificate", number="TB-0", expires_on=TODAY - timedelta(days=2))
    add_doc(d, "health_check", number="H", expires_on=TODAY + timedelta(days=1))  # not watched
    add_doc(d, "contract", number="K", expires_on=TODAY + timedelta(days=1))  # not watched
    assert found() == [(d.id, "tb_certificate", "TB-0", -2, False),
                       (d.id, "passport", "P-10", 10, False),
                       (d.id, "coe", "C-30", 30, False)]
    assert [r[2] for r in found(days=40)] == ["TB-0", "P-10", "C-30", "V-31"]


def test_documents_expiring_before_the_planned_departure(board):
    d = board(planned_departure=TODAY + timedelta(days=90))
    add_doc(d, "coe", number="C-60", expires_on=TODAY + timedelta(days=60))
    add_doc(d, "visa", number="V-120", expires_on=TODAY + timedelta(days=120))
    assert found() == [(d.id, "coe", "C-60", 60, True)]
    row = expiring_documents()[0]
    assert row.expires_on == TODAY + timedelta(days=60) and row.kind_label == (
        "Certificate of Eligibility (COE)")
    assert row.dispatch.trainee.external_id and row.dispatch.job_order.external_id


def test_closed_dispatches_and_replaced_documents_are_ignored(board):
    for stage in ("completed", "withdrawn", "denied", "early_return"):
        add_doc(board(stage=stage), "passport", expires_on=TODAY + timedelta(days=5))
    d = board()
    add_doc(d, "passport", number="OLD", expires_on=TODAY + timedelta(days=5))
    add_doc(d, "passport", number="NEW", expires_on=TODAY + timedelta(days=3650))
    assert found() == []


def test_after_departure_only_passport_and_visa_matter(board):
    d = board(stage="departed", planned_departure=TODAY - timedelta(days=200))
    add_doc(d, "coe", number="C", expires_on=TODAY - timedelta(days=100))
    add_doc(d, "tb_certificate", number="T", expires_on=TODAY + timedelta(days=3))
    add_doc(d, "visa", number="V", expires_on=TODAY + timedelta(days=20))
    assert found() == [(d.id, "visa", "V", 20, False)]


def test_a_trainee_document_is_listed_with_the_open_dispatch(board, make_org):
    d = board()
    add_doc(d, "passport", number="P", expires_on=TODAY + timedelta(days=7))
    closed = open_dispatch(make_org, None, trainee=d.trainee, stage="withdrawn")
    assert closed.trainee_id == d.trainee_id
    assert found() == [(d.id, "passport", "P", 7, False)]


def test_the_board_sees_only_its_dispatches(board, agent, make_org, make_trainee, make_user):
    mine = board()
    add_doc(mine, "visa", number="MINE", expires_on=TODAY + timedelta(days=3))
    theirs = open_dispatch(make_org, make_trainee, stage="training")
    add_doc(theirs, "visa", number="THEIRS", expires_on=TODAY + timedelta(days=3))
    assert {r[2] for r in found()} == {"MINE", "THEIRS"}
    assert [r[2] for r in found(dispatches_stmt=access.dispatches_select(agent))] == ["MINE"]
    employer = make_user(role="employer")
    assert found(dispatches_stmt=access.dispatches_select(employer)) == []


def test_expiring_cli(runner, board):
    leaving = board(planned_departure=TODAY + timedelta(days=90))
    add_doc(leaving, "coe", number="C-60", expires_on=TODAY + timedelta(days=60))
    waiting = board()
    add_doc(waiting, "passport", number="P-5", expires_on=TODAY + timedelta(days=5))
    result = runner.invoke(args=["documents", "expiring", "--days", "30"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("trainee")
    assert lines[1].split() == [waiting.trainee.external_id, waiting.job_order.external_id,
                                "passport", "P-5", (TODAY + timedelta(days=5)).isoformat(),
                                "5", "no"]
    assert lines[2].split() == [leaving.trainee.external_id, leaving.job_order.external_id,
                                "coe", "C-60", (TODAY + timedelta(days=60)).isoformat(),
                                "60", "yes"]
    result = runner.invoke(args=["documents", "expiring", "--days", "1"])
    assert result.exit_code == 0
    assert [line.split()[3] for line in result.output.strip().splitlines()[1:]] == ["C-60"]


def test_expiring_cli_with_nothing_to_report(runner):
    result = runner.invoke(args=["documents", "expiring"])
    assert result.exit_code == 0
    assert "no document of an open dispatch expires within 30 days" in result.output
