"""Text fields refuse NUL, control and bidi-override characters; dates are plausible
(issue 8, item 9) — in the forms and in the imports alike, with the field or column named."""

import html
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Dispatch, Document, JobOrder, LanguageCertificate, Organisation, Trainee
from matching.operations.imports.decisions import import_decisions
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.statuses import import_statuses
from matching.operations.imports.trainees import import_trainees
from matching.validation import (
    EXPIRES,
    PLANNED,
    InvalidValue,
    check_birth_date,
    check_date,
    check_text,
)
from tests.conftest import add_job_order, english, messages, open_dispatch
from tests.test_jobs_web import form_data as job_form
from tests.test_trainees import form_data as trainee_form

BAD = ["\x00", "\x07", "\x1b", "\x85", "\u202e", "\u202a", "\u2066", "\u2069", "\x7f"]
TODAY = date.today()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def dept(make_user, login):
    user = make_user(role="department", province="nghe-an", locale="en")
    login(user)
    return user


# -- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("char", BAD)
def test_control_and_bidi_characters_are_refused(app, char):
    with pytest.raises(InvalidValue) as refused:
        check_text(f"Nguyễn{char}An", "Full name")
    assert "“Full name”" in english(refused.value.message)
    assert f"U+{ord(char):04X}" in english(refused.value.message)
    with pytest.raises(InvalidValue):
        check_text(f"a{char}b", "Note", multiline=True)


def test_ordinary_text_in_three_languages_passes(app):
    for value in ("Nguyễn Văn Đức", "グエン・ヴァン・アン", "株式会社 愛知フーズ", "O'Brien-Smith",
                  "Ali\u200f", "HĐ-2026/001"):
        assert check_text(value, "x") == value


def test_line_breaks_only_in_multi_line_text(app):
    assert check_text("line 1\r\nline 2\tend", "Note", multiline=True)
    for char in "\t\n\r\u2028":
        with pytest.raises(InvalidValue) as refused:
            check_text(f"a{char}b", "Title")
        assert "one line" in english(refused.value.message)


def test_date_windows(app):
    with pytest.raises(InvalidValue) as refused:
        check_date(date(1, 1, 1), "Start date", PLANNED)
    assert "“Start date”" in english(refused.value.message)
    assert "0001-01-01" in english(refused.value.message)
    for bad in (date(9999, 12, 31), TODAY - timedelta(days=11 * 366)):
        with pytest.raises(InvalidValue):
            check_date(bad, "x", EXPIRES)
    assert check_date(TODAY, "x", EXPIRES) == TODAY
    with pytest.raises(InvalidValue):
        check_birth_date(date(1, 1, 1))
    with pytest.raises(InvalidValue):
        check_birth_date(date(9999, 1, 1))


# -- forms -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field, label", [("full_name", "Full name"), ("external_id", "Trainee ID"),
                                          ("school", "School")])
@pytest.mark.parametrize("char", ["\x00", "\u202e", "\x07"])
def test_trainee_form_refuses_control_characters(client, dept, field, label, char):
    value = trainee_form()[field] + char + "x"
    response = client.post("/trainees/new", data=trainee_form(**{field: value}))
    assert response.status_code == 200
    assert f"“{label}” contains an invisible control character" in text(response)
    assert count(Trainee) == 0


def test_a_tab_in_a_single_line_field_is_refused(client, dept):
    response = client.post("/trainees/new", data=trainee_form(full_name="Nguyễn\tAn"))
    assert "“Full name” must fit on one line" in text(response)
    assert count(Trainee) == 0


@pytest.mark.parametrize("field, value", [
    ("date_of_birth", "0001-01-01"), ("date_of_birth", "9999-12-31"),
    ("available_from", "0001-01-01"), ("available_from", "9999-12-31"),
])
def test_trainee_form_refuses_implausible_dates(client, dept, field, value):
    response = client.post("/trainees/new", data=trainee_form(**{field: value}))
    assert response.status_code == 200
    assert count(Trainee) == 0


@pytest.mark.parametrize("issued, expires", [("0001-01-01", ""), ("9999-12-31", ""),
                                             ("2024-01-01", "9999-12-31"),
                                             ("2024-01-01", "1960-01-01")])
def test_certificate_dates_are_plausible(client, dept, make_trainee, issued, expires):
    trainee = make_trainee()
    response = client.post(f"/trainees/{trainee.id}/certificates", data={
        "language": "ja", "test": "JLPT", "level": "N4", "issued_on": issued,
        "expires_on": expires})
    assert response.status_code in (200, 302)
    assert count(LanguageCertificate) == 0


@pytest.fixture
def employer(make_user, login):
    user = make_user(role="employer", locale="en")
    login(user)
    return user


@pytest.mark.parametrize("changes", [{"title": "Welder\u202egnp.exe"}, {"title": "A\x00B"},
                                     {"external_id": "JO\x07-1"}, {"start_date": "0001-01-01"},
                                     {"start_date": "9999-12-31"}])
def test_job_order_form_refuses_bad_text_and_dates(client, employer, changes):
    response = client.post("/jobs/new", data=job_form(**changes))
    assert response.status_code == 200
    assert count(JobOrder) == 0


@pytest.fixture
def agent_dispatch(make_org, make_trainee, make_user, login):
    agency = make_org(kind="agency")
    dispatch = open_dispatch(make_org, make_trainee, agency=agency)
    login(make_user(role="agency", org=agency, locale="en"))
    return dispatch


@pytest.mark.parametrize("data", [
    {"number": "P\x00123", "expires_on": "2030-01-01"},
    {"number": "P\u202e123", "expires_on": "2030-01-01"},
    {"number": "P123", "expires_on": "0001-01-01"},
    {"number": "P123", "expires_on": "9999-12-31"},
    {"number": "P123", "issued_on": "0001-01-01", "expires_on": "2030-01-01"},
])
def test_document_form_refuses_bad_numbers_and_dates(client, agent_dispatch, data):
    response = client.post(f"/dispatch/{agent_dispatch.id}/documents",
                           data={"kind": "passport", **data})
    assert response.status_code in (200, 302)
    assert count(Document) == 0


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_planned_departure_is_plausible(client, agent_dispatch, day):
    client.post(f"/dispatch/{agent_dispatch.id}/edit",
                data={"version": agent_dispatch.version, "planned_departure": day})
    db.session.expire_all()
    assert db.session.get(Dispatch, agent_dispatch.id).planned_departure is None


@pytest.mark.parametrize("day, note", [
    ("0001-01-01", ""), ("9999-12-31", ""),
    ((TODAY - timedelta(days=40)).isoformat(), ""),  # before the "selected" step
    (TODAY.isoformat(), "signed\x00"),
])
def test_a_move_refuses_implausible_dates_and_control_characters(client, agent_dispatch, day,
                                                                  note):
    client.post(f"/dispatch/{agent_dispatch.id}/move", data={
        "to_stage": "contracted", "version": agent_dispatch.version, "happened_on": day,
        "note": note})
    db.session.expire_all()
    assert db.session.get(Dispatch, agent_dispatch.id).stage == "selected"


def test_a_multi_line_note_is_accepted(client, agent_dispatch):
    response = client.post(f"/dispatch/{agent_dispatch.id}/move", data={
        "to_stage": "contracted", "version": agent_dispatch.version,
        "happened_on": TODAY.isoformat(), "note": "signed in Vinh\r\nby both\tparties"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Dispatch, agent_dispatch.id).stage == "contracted"


def test_organisation_form_refuses_a_bidi_override(client, make_user, login):
    login(make_user(role="admin", locale="en"))
    before = count(Organisation)
    response = client.post("/admin/organisations/new", data={
        "kind": "employer", "code": "evil", "name": "Sakura\u202eFoods", "country": "JP",
        "active": "y"})
    assert "“Name” contains an invisible control character (U+202E)" in text(response)
    assert count(Organisation) == before


# -- imports ---------------------------------------------------------------------------------


def _trainee_row(**changes) -> dict:
    row = {"external_id": "NA-1", "full_name": "Phạm Văn Long", "date_of_birth": "2000-03-01",
           "province": "nghe-an", "field": "construction", "japanese_level": "N4"}
    row.update(changes)
    return row


@pytest.mark.parametrize("column", ["external_id", "full_name", "school"])
@pytest.mark.parametrize("char", ["\x00", "\u202e", "\x07", "\u2066"])
def test_trainee_import_names_row_and_column_of_a_control_character(app, column, char):
    second = _trainee_row(external_id="NA-2", school="Vinh")
    second[column] += char
    result = import_trainees([_trainee_row(), second])
    assert not result.ok and count(Trainee) == 0
    [(line, col, message)] = messages(result)
    assert (line, col) == (3, column)
    assert f"“{column}” contains an invisible control character" in message


def test_trainee_import_folds_a_line_break_in_a_cell(app):
    assert import_trainees([_trainee_row(full_name="Phạm Văn\nLong")]).ok
    assert db.session.scalar(sa.select(Trainee.full_name)) == "Phạm Văn Long"


@pytest.mark.parametrize("column, value", [
    ("date_of_birth", "0001-01-01"), ("date_of_birth", "9999-12-31"),
    ("available_from", "0001-01-01"), ("available_from", "9999-12-31"),
])
def test_trainee_import_refuses_implausible_dates(app, column, value):
    result = import_trainees([_trainee_row(**{column: value})])
    assert [(line, col) for line, col, _ in messages(result)] == [(2, column)]


@pytest.mark.parametrize("changes", [{"title": "Welder\x00"}, {"start_date": "0001-01-01"},
                                     {"start_date": "9999-12-31"}])
def test_job_import_refuses_bad_text_and_dates(app, changes):
    row = {"external_id": "JO-1", "employer": "Sakura Foods", "title": "Food line worker",
           "field": "food_manufacturing", "min_japanese_level": "N4", "headcount": "2",
           "prefecture": "aichi", "visa_track": "SSW1", **changes}
    result = import_job_orders([row])
    [(line, column, _message)] = messages(result)
    assert (line, column) == (2, next(iter(changes)))
    assert count(JobOrder) == 0


def test_decision_import_refuses_year_one(app, make_org, make_trainee):
    add_job_order(external_id="JO-1", employer_id=make_org(kind="employer").id,
                  title="Welder", field="construction")
    make_trainee(external_id="T-1")
    result = import_decisions([{"job_order_external_id": "JO-1", "trainee_external_id": "T-1",
                                "decision": "shortlisted", "decided_at": "0001-01-01"}])
    assert [(line, col) for line, col, _ in messages(result)] == [(2, "decided_at")]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_status_import_refuses_implausible_step_dates(app, make_org, make_trainee, make_user,
                                                      day):
    agency = make_org(kind="agency")
    dispatch = open_dispatch(make_org, make_trainee, agency=agency,
                             trainee=make_trainee(external_id="VN-001"))
    result = import_statuses([{"trainee_external_id": "VN-001",
                               "job_order_external_id": dispatch.job_order.external_id,
                               "stage": "contracted", "date": day}],
                             user=make_user(role="agency", org=agency))
    assert [(line, col) for line, col, _ in messages(result)] == [(2, "date")]


def test_status_import_refuses_a_note_with_a_bell(app, make_org, make_trainee, make_user):
    agency = make_org(kind="agency")
    dispatch = open_dispatch(make_org, make_trainee, agency=agency,
                             trainee=make_trainee(external_id="VN-001"))
    result = import_statuses([{"trainee_external_id": "VN-001",
                               "job_order_external_id": dispatch.job_order.external_id,
                               "stage": "contracted", "note": "ok\x07"}],
                             user=make_user(role="agency", org=agency))
    assert [(line, col) for line, col, _ in messages(result)] == [(2, "note")]
