"""Job order pages: post, edit, publish / close / reopen, list with decision counts, import."""

import csv
import io
import itertools
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Decision, JobOrder
from matching.operations.imports.job_orders import KNOWN_COLUMNS
from tests.conftest import add_job_order

_seq = itertools.count(1)


@pytest.fixture
def make_job(app):
    def make(employer_org, **kw):
        n = next(_seq)
        values = dict(external_id=f"JOB-{n:04d}", employer_id=employer_org.id,
                      title=f"Food line worker {n}", field="food_manufacturing",
                      required_skills="haccp", min_language_level="N4", min_language_rank=2,
                      headcount=3, prefecture="aichi", monthly_salary_jpy=215000,
                      start_date=date(2026, 10, 1), visa_track="SSW1", status="open")
        values.update(kw)
        return add_job_order(**values)

    return make


@pytest.fixture
def employer(make_user, login):
    user = make_user(role="employer", locale="en")
    login(user)
    return user


#: A start date the form accepts whatever day the suite runs (a past one is refused).
START = date.today() + timedelta(days=120)


def form_data(**kw) -> dict:
    data = {"external_id": "", "title": "Food line worker", "field": "food_manufacturing",
            "required_skills": "HACCP; Food Hygiene, haccp", "preferred_skills": "Packaging",
            "min_language_level": "N4", "headcount": "3", "prefecture": "aichi",
            "monthly_salary_jpy": "215,000", "start_date": START.isoformat(), "visa_track": "SSW1",
            "agency_id": ""}
    data.update(kw)
    return data


def jobs() -> list[JobOrder]:
    return db.session.scalars(sa.select(JobOrder).order_by(JobOrder.id)).all()


def page(response) -> str:
    return response.get_data(as_text=True)


def relogin(client, login, user) -> None:
    client.post("/auth/logout")
    login(user)


# -- post ----------------------------------------------------------------------------------


def test_posting_a_job_order_stores_normalised_values(client, employer, make_org):
    agency = make_org(kind="agency", name="Hanoi Manpower")
    form = page(client.get("/jobs/new"))
    assert 'name="employer_id"' not in form  # an employer posts for itself
    assert "SSW1 – Specified Skilled Worker (i)" in form and "Hanoi Manpower" in form
    # The skill vocabulary, by its labels in the reader's language (the picker's suggestions).
    assert '<option value="HACCP-based hygiene control">' in form and "e.g. 215000" in form

    response = client.post("/jobs/new", data=form_data(agency_id=str(agency.id)))
    [job] = jobs()
    assert response.status_code == 302 and response.location.endswith(f"/jobs/{job.id}")
    today = date.today().strftime("%Y%m%d")
    assert job.external_id == f"JO-{employer.organisation.code}-{today}-1"
    assert job.employer_id == employer.organisation_id and job.created_by_id == employer.id
    assert job.required_skills == "haccp;food-hygiene" and job.preferred_skills == "packaging"
    assert (job.min_language_level, job.min_language_rank) == ("N4", 2)
    assert (job.headcount, job.prefecture, job.monthly_salary_jpy) == (3, "aichi", 215000)
    assert (job.start_date, job.visa_track, job.agency_id) == (START, "SSW1",
                                                               agency.id)
    assert job.status == "open"
    view = page(client.get(response.location))
    assert "has been published" in view and "¥215,000" in view and "Hanoi Manpower" in view

    # The next one the same day gets the next number; "Save as draft" keeps it unpublished.
    client.post("/jobs/new", data=form_data(save_draft="Save as draft"))
    assert jobs()[1].external_id.endswith(f"-{today}-2") and jobs()[1].status == "draft"


@pytest.mark.parametrize(("changes", "message"), [
    ({"headcount": "0"}, "Enter a headcount from 1 to 10000."),
    ({"headcount": ""}, "Enter how many workers you need."),
    ({"monthly_salary_jpy": "a lot"}, "Enter the salary as a whole number of yen"),
    ({"monthly_salary_jpy": "-5"}, "Enter a monthly salary from 0 to 10000000 yen."),
    ({"title": ""}, "Enter a title."),
    ({"field": "astrology"}, "Choose a value from the list."),
    ({"start_date": "31/02/2026"}, "Enter a valid date (YYYY-MM-DD)."),
])
def test_invalid_values_are_shown_next_to_their_field(client, employer, changes, message):
    response = client.post("/jobs/new", data=form_data(**changes))
    assert response.status_code == 200
    body = page(response)
    assert "Please correct the fields marked below." in body
    assert f"-errors\" class=\"field-error\">{message}" in body
    assert jobs() == []


def test_external_ids_are_unique_platform_wide(client, employer, make_org, make_job):
    make_job(make_org(kind="employer"), external_id="SAKURA-1")
    body = page(client.post("/jobs/new", data=form_data(external_id="SAKURA-1")))
    assert 'id="external_id-errors"' in body and "Another job order already has this ID" in body
    assert len(jobs()) == 1


def test_salary_accepts_the_ways_people_write_yen(client, employer):
    client.post("/jobs/new", data=form_data(monthly_salary_jpy="￥２１５，０００円"))
    assert jobs()[0].monthly_salary_jpy == 215000


def test_admin_chooses_the_employer(client, make_user, login, make_org):
    login(make_user(role="admin", locale="en"))
    sakura = make_org(kind="employer", name="Sakura Foods")
    make_org(kind="employer", name="Closed Corp").active = False
    db.session.commit()
    form = page(client.get("/jobs/new"))
    assert "Sakura Foods" in form and "Closed Corp" not in form
    body = page(client.post("/jobs/new", data=form_data()))
    assert "Choose an employer." in body and jobs() == []
    client.post("/jobs/new", data=form_data(employer_id=str(sakura.id)))
    assert jobs()[0].employer_id == sakura.id


# -- edit and status -----------------------------------------------------------------------


def test_editing_changes_the_values_but_never_the_employer(client, employer, make_job):
    job = make_job(employer.organisation, required_skills="haccp;packaging")
    form = page(client.get(f"/jobs/{job.id}/edit"))
    assert 'value="haccp; packaging"' in form and 'name="employer_id"' not in form
    status_options = form.split('name="status"')[1].split("</select>")[0]
    assert "Closed" in status_options and "Draft" not in status_options  # no way back
    response = client.post(f"/jobs/{job.id}/edit", data=form_data(
        external_id=job.external_id, title="Bento line worker", min_language_level="N3",
        headcount="5", status="closed"))
    assert response.status_code == 302
    db.session.refresh(job)
    assert (job.title, job.min_language_rank, job.headcount) == ("Bento line worker", 3, 5)
    assert job.status == "closed" and job.employer_id == employer.organisation_id
    body = page(client.post(f"/jobs/{job.id}/edit", data=form_data(external_id="",
                                                                    status="closed")))
    assert 'id="external_id-errors" class="field-error">Enter the job order&#39;s ID.' in body


def test_publish_close_and_reopen(client, employer, make_job):
    job = make_job(employer.organisation, status="draft")
    view = page(client.get(f"/jobs/{job.id}"))
    assert 'value="open">Publish' in view and 'value="closed"' in view
    for status, message in (("open", "has been published"), ("closed", "has been closed"),
                            ("open", "has been reopened"), ("filled", "marked as filled")):
        response = client.post(f"/jobs/{job.id}/status", data={"status": status},
                               follow_redirects=True)
        assert message in page(response)
        db.session.refresh(job)
        assert job.status == status
    body = page(client.post(f"/jobs/{job.id}/status", data={"status": "draft"},
                            follow_redirects=True))
    assert "cannot go from this status" in body
    db.session.refresh(job)
    assert job.status == "filled"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_status_change_needs_a_csrf_token(client, make_user, make_job):
    user = make_user(role="employer")
    job = make_job(user.organisation)
    token_page = page(client.get("/auth/login"))
    token = token_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": user.email, "password": "correct horse 42",
                                     "csrf_token": token})
    assert client.post(f"/jobs/{job.id}/status", data={"status": "closed"}).status_code == 400
    db.session.refresh(job)
    assert job.status == "open"


# -- scope -----------------------------------------------------------------------------------


def test_employers_see_only_their_own_job_orders(client, employer, make_org, make_job):
    mine = make_job(employer.organisation, title="Mine")
    theirs = make_job(make_org(kind="employer"), title="Theirs")
    body = page(client.get("/jobs/"))
    assert "Mine" in body and "Theirs" not in body and "1 job order" in body
    assert client.get(f"/jobs/{mine.id}").status_code == 200
    for method, url in (("get", f"/jobs/{theirs.id}"), ("get", f"/jobs/{theirs.id}/edit"),
                        ("post", f"/jobs/{theirs.id}/edit"),
                        ("post", f"/jobs/{theirs.id}/status")):
        assert getattr(client, method)(url, data={"status": "closed"}).status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == "open"


def test_agency_reads_the_job_orders_assigned_to_it(client, make_user, login, make_org,
                                                    make_job):
    agency = make_user(role="agency", locale="en")
    login(agency)
    assigned = make_job(make_org(kind="employer"), agency_id=agency.organisation_id,
                        title="Assigned")
    other = make_job(make_org(kind="employer"), title="Elsewhere")
    body = page(client.get("/jobs/"))
    assert "Assigned" in body and "Elsewhere" not in body and "/jobs/new" not in body
    view = page(client.get(f"/jobs/{assigned.id}"))
    assert "Assigned" in view and 'id="edit-job"' not in view and "status-buttons" not in view
    assert client.get(f"/jobs/{other.id}").status_code == 404
    for method, url in (("get", "/jobs/new"), ("get", f"/jobs/{assigned.id}/edit"),
                        ("post", f"/jobs/{assigned.id}/status"), ("get", "/jobs/import")):
        assert getattr(client, method)(url, data={"status": "closed"}).status_code == 403
    assert "1 job order is assigned to your agency." in page(client.get("/"))


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/jobs/"), ("get", "/jobs/new"), ("get", "/jobs/{id}"), ("get", "/jobs/{id}/edit"),
    ("post", "/jobs/{id}/status"), ("get", "/jobs/import"), ("post", "/jobs/import/confirm"),
    ("get", "/jobs/import/template.csv"),
])
def test_departments_are_refused_everywhere(client, make_user, login, make_org, make_job,
                                            method, url):
    job = make_job(make_org(kind="employer"))
    login(make_user(role="department"))
    assert getattr(client, method)(url.format(id=job.id)).status_code == 403


def test_admin_sees_every_job_order_with_its_employer(client, make_user, login, make_org,
                                                      make_job):
    login(make_user(role="admin", locale="en"))
    make_job(make_org(kind="employer", name="Sakura Foods"), title="One")
    make_job(make_org(kind="employer", name="Fuji Care"), title="Two", status="closed")
    body = page(client.get("/jobs/"))
    assert all(text in body for text in ("One", "Two", "Sakura Foods", "Fuji Care"))
    filtered = page(client.get("/jobs/?status=closed&field=food_manufacturing"))
    assert "Two" in filtered and "One" not in filtered


# -- decisions -----------------------------------------------------------------------------


def decide(job, trainee, decision, when):
    db.session.add(Decision(job_order_id=job.id, trainee_id=trainee.id, decision=decision,
                            decided_at=when))
    db.session.commit()


def test_decision_counts_use_the_latest_decision_per_trainee(client, make_user, login,
                                                             make_job, make_trainee):
    admin = make_user(role="admin", locale="en")
    employer = make_user(role="employer", locale="en")
    job = make_job(employer.organisation)
    other_job = make_job(employer.organisation)
    a, b, c, d = (make_trainee() for _ in range(4))
    decide(job, a, "shortlisted", datetime(2026, 1, 1))
    decide(job, a, "interviewed", datetime(2026, 1, 5))
    decide(job, b, "rejected", datetime(2026, 1, 2))
    # Imported later but decided earlier: the newer decision still counts.
    decide(job, c, "selected", datetime(2026, 1, 9))
    decide(job, c, "shortlisted", datetime(2026, 1, 3))
    decide(other_job, d, "shortlisted", datetime(2026, 1, 3))
    expected = {"shortlisted": "0", "interviewed": "1", "selected": "1", "rejected": "1"}

    login(employer)
    row = page(client.get("/jobs/")).split(f'id="job-{job.id}"')[1].split("</tr>")[0]
    for decision, n in expected.items():
        assert f'class="num decision-{decision}">{n}<' in row
    view = page(client.get(f"/jobs/{job.id}"))
    for decision, n in expected.items():
        assert f'id="count-{decision}">{n}<' in view
    assert a.external_id not in view and "decision-history" not in view

    relogin(client, login, admin)
    history = page(client.get(f"/jobs/{job.id}")).split('id="decision-history"')[1]
    assert [t.external_id in history for t in (a, b, c, d)] == [True, True, True, False]
    assert history.index(c.external_id) < history.index(b.external_id)  # latest first


def test_list_page_query_count_does_not_grow_with_rows(client, employer, make_job,
                                                       make_trainee, count_queries):
    trainee = make_trainee()
    for _ in range(2):
        decide(make_job(employer.organisation), trainee, "shortlisted", datetime(2026, 1, 1))
    with count_queries() as few:
        assert client.get("/jobs/").status_code == 200
    for _ in range(20):
        decide(make_job(employer.organisation), trainee, "selected", datetime(2026, 1, 1))
    with count_queries() as many:
        assert client.get("/jobs/").status_code == 200
    assert many[0] == few[0] == 4  # the user, the total, the page, the decision counts


# -- Japanese ------------------------------------------------------------------------------


def test_pages_follow_the_employers_language(client, make_user, login, make_job):
    user = make_user(role="employer", locale="ja")
    login(user)
    job = make_job(user.organisation)
    view = page(client.get(f"/jobs/{job.id}"))
    assert "￥215,000" in view and "飲食料品製造業" in view and "愛知県" in view
    assert "飲食料品製造業" in page(client.get("/jobs/new"))
    assert "￥215,000" in page(client.get("/jobs/"))


def test_home_page_summarises_the_employers_job_orders(client, employer, make_job):
    make_job(employer.organisation)
    make_job(employer.organisation, status="closed")
    body = page(client.get("/"))
    assert 'id="open-jobs">1<' in body and "/jobs/new" in body


# -- import --------------------------------------------------------------------------------

HEADER = ("external_id,employer,title,field,required_skills,preferred_skills,"
          "min_japanese_level,headcount,prefecture,monthly_salary_jpy,start_date,visa_track")


def upload(client, *rows: str, filename="jobs.csv"):
    content = ("\n".join((HEADER, *rows)) + "\n").encode("utf-8")
    return client.post("/jobs/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def csv_row(external_id, employer, title="Food line worker") -> str:
    return (f"{external_id},{employer},{title},food_manufacturing,HACCP,,N4,3,愛知県,"
            f'"215,000",2026-10-01,SSW1')


def test_import_preview_then_confirm(client, employer):
    upload_page = page(client.get("/jobs/import"))
    assert "/jobs/import/template.csv" in upload_page
    # What a file cannot do without comes first.
    assert upload_page.index("Required columns:") < upload_page.index("Optional columns:")
    code, name = employer.organisation.code, employer.organisation.name
    body = page(upload(client, csv_row("JO-A", code), csv_row("JO-B", name)))
    assert 'id="count-created">2<' in body and 'id="confirm-import"' in body
    assert "Aichi" in body and "¥215,000" in body and jobs() == []  # a dry run

    response = client.post("/jobs/import/confirm")
    assert response.status_code == 302 and response.location.endswith("/jobs/")
    assert [j.external_id for j in jobs()] == ["JO-A", "JO-B"]
    assert {j.employer_id for j in jobs()} == {employer.organisation_id}
    assert "Imported 2 rows: 2 created, 0 updated." in page(client.get("/jobs/"))
    again = client.post("/jobs/import/confirm", follow_redirects=True)
    assert "There is no checked file waiting to be imported" in page(again)


def test_import_rows_of_another_employer_are_errors(client, employer, make_org):
    other = make_org(kind="employer", name="Fuji Care")
    body = page(upload(client, csv_row("JO-A", employer.organisation.code),
                       csv_row("JO-B", other.name)))
    assert 'id="import-errors"' in body and 'id="confirm-import"' not in body
    assert "You may only import job orders of your own organisation" in body
    assert "<td>3</td>" in body.split('id="import-errors"')[1]
    assert client.post("/jobs/import/confirm").status_code == 302 and jobs() == []


def test_import_errors_quote_cells_escaped(client, employer):
    body = page(upload(client, csv_row("JO-A", employer.organisation.code).replace(
        "food_manufacturing", "<b>cooking</b>")))
    assert "Unknown field “&lt;b&gt;cooking&lt;/b&gt;”." in body and "<b>cooking" not in body


def test_admin_import_names_the_employers_it_will_create(client, make_user, login):
    login(make_user(role="admin", locale="en"))
    body = page(upload(client, csv_row("JO-A", "Brand New Farms KK")))
    assert 'id="new-employers"' in body and "Brand New Farms KK" in body
    client.post("/jobs/import/confirm")
    assert jobs()[0].employer.name == "Brand New Farms KK"


def test_template_download_imports_as_it_is(client, employer):
    response = client.get("/jobs/import/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == KNOWN_COLUMNS and len(rows) == 2
    body = page(client.post("/jobs/import", data={
        "file": (io.BytesIO(response.data), "job-orders-template.csv")},
        content_type="multipart/form-data"))
    assert 'id="count-created">1<' in body and 'id="confirm-import"' in body


def test_import_preview_of_a_file_without_the_optional_columns(client, employer):
    """Salary and start date are optional columns: a file without them previews, no 500."""
    code = employer.organisation.code
    content = ("external_id,employer,title,field,min_japanese_level,headcount,visa_track\n"
               f"JO-A,{code},Food line worker,food_manufacturing,N4,3,SSW1\n").encode()
    response = client.post("/jobs/import", data={"file": (io.BytesIO(content), "jobs.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert 'id="count-created">1<' in page(response) and jobs() == []
