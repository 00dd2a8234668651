"""The rest of the walk (issue 10 §8): the 履歴書's rows and e-mail, the export's optional
columns, a page beyond the list, a job order's start date and salary, the blind profile
header, ties on the dashboard, the favicon, demo schools and the Makefile's statistics."""

import csv
import io
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from matching.documents.rirekisho import build_rirekisho
from matching.extensions import db
from matching.models import JobOrder, LanguageCertificate, Skill
from matching.operations import jobs as job_ops
from matching.operations.demo import ORGANISATIONS, demo_trainee_rows
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.trainees import import_trainees
from matching.operations.jobs import JobOrderError
from matching.operations.skills import ensure_skill_ids
from matching.ranking.pool import clear_memory_cache
from matching.web.dispatch import queries as dispatch_queries

ROOT = Path(__file__).resolve().parent.parent
TODAY = date.today()


# -- the 履歴書 ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


def _pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def _sizes(content: bytes, page: int) -> dict[str, float]:
    """Each text run of ``page`` with the font size it is drawn in."""
    sizes: dict[str, float] = {}

    def visit(text, _cm, tm, _font, size):
        if text.strip():
            sizes[text.strip()] = size * (tm[0] or 1)

    PdfReader(io.BytesIO(content)).pages[page].extract_text(visitor_text=visit)
    return sizes


@pytest.fixture
def demo_like(make_trainee):
    """A trainee as the demo makes them: school, experience, a long e-mail, care skills."""
    ids = ensure_skill_ids(["dementia-care", "bathing-assistance"])
    db.session.commit()
    trainee = make_trainee(
        full_name="Nguyễn Thị Ánh Tuyết", name_kana="グエン ティ アイン トゥエット",
        gender="F", field="nursing_care", school="Trường Cao đẳng Y tế Nghệ An",
        experience_years=2.5, training_hours=640, email="tuyet.nguyen.na0042@demo.example",
        phone="0912345678", skills=[db.session.get(Skill, i) for i in ids.values()])
    db.session.add(LanguageCertificate(trainee=trainee, language="ja", test="JLPT", level="N4",
                                       cefr_rank=2, issued_on=date(2025, 7, 6)))
    db.session.commit()
    return trainee


def test_every_school_and_work_row_has_its_year_and_month(demo_like):
    page_one = _pages(build_rirekisho(demo_like, today=TODAY))[0]
    stamp = f"{TODAY.year} {TODAY.month} "
    assert stamp + "Trường Cao đẳng Y tế Nghệ An（介護分野）修了" in page_one
    assert stamp + "介護分野 実務経験 通算2.5年" in page_one


def test_page_two_opens_with_the_licences_not_empty_history_rows(demo_like):
    pages = _pages(build_rirekisho(demo_like, today=TODAY))
    assert len(pages) == 2
    assert pages[1].split("\n")[0].replace(" ", "") == "年月免許・資格"
    assert "2025 7 日本語能力試験 N4 合格" in pages[1]
    assert "学歴・職歴の年月は、登録情報の記載年月" in pages[1]  # the footnote says what they are


def test_the_email_is_printed_at_a_readable_size(demo_like):
    content = build_rirekisho(demo_like, today=TODAY)
    sizes = _sizes(content, 0)
    assert sizes["tuyet.nguyen.na0042"] >= 8 and sizes["@demo.example"] >= 8


def test_skills_appear_by_their_japanese_labels(demo_like):
    page_two = _pages(build_rirekisho(demo_like, today=TODAY))[1]
    assert "技能：入浴介助、認知症ケア" in page_two
    assert "dementia-care" not in page_two


# -- the trainee list and export -----------------------------------------------------------


def test_the_export_has_consent_and_kana_and_imports_back(client, make_user, login,
                                                          make_trainee):
    dept = make_user(role="department", province="nghe-an", locale="en")
    make_trainee(external_id="K-1", name_kana="グエン バン アン", consent=False)
    login(dept)
    rows = list(csv.reader(io.StringIO(
        client.get("/trainees/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["consent"], record["name_kana"]) == ("no", "グエン バン アン")
    result = import_trainees([dict(zip(rows[0], row, strict=True)) for row in rows[1:]],
                             user=dept, dry_run=True)
    assert result.ok, result.errors
    assert (result.created, result.updated) == (0, 1)


def test_a_page_beyond_the_list_shows_the_last_page_and_says_so(client, make_user, login,
                                                                make_trainee, app):
    app.config["TRAINEES_PER_PAGE"] = 2
    dept = make_user(role="department", province="nghe-an", locale="en")
    for _ in range(5):
        make_trainee()
    login(dept)
    page = client.get("/trainees/?page=999").get_data(as_text=True)
    assert "5 trainees found" in page and "page 3 of 3" in page
    assert "There is no page 999: this is the last page." in page
    assert "No trainee matches" not in page
    assert "There is no page" not in client.get("/trainees/?page=2").get_data(as_text=True)


# -- job orders ----------------------------------------------------------------------------


def _form(**kw) -> dict:
    data = {"external_id": "", "title": "Food line worker", "field": "food_manufacturing",
            "required_skills": "haccp", "preferred_skills": "", "min_language_level": "N4",
            "headcount": "1", "prefecture": "aichi", "monthly_salary_jpy": "215000",
            "start_date": (TODAY + timedelta(days=90)).isoformat(), "visa_track": "SSW1",
            "agency_id": ""}
    return data | kw


def _jobs() -> list[JobOrder]:
    return db.session.scalars(sa.select(JobOrder).order_by(JobOrder.id)).all()


def test_a_draft_refuses_a_start_date_in_the_past(client, make_user, login):
    login(make_user(role="employer", locale="en"))
    past = TODAY - timedelta(days=3)
    page = client.post("/jobs/new", data=_form(start_date=past.isoformat(),
                                                save_draft="1")).get_data(as_text=True)
    assert "is in the past; enter the day work will start." in page and _jobs() == []
    client.post("/jobs/new", data=_form(save_draft="1"))
    assert [j.status for j in _jobs()] == ["draft"]


def test_an_old_job_order_keeps_its_past_start_date_when_edited(app, make_user, make_org):
    with app.test_request_context("/?lang=en"):
        employer = make_user(role="employer")
        job = JobOrder(external_id="OLD-1", employer_id=employer.organisation_id,
                       title="Old", field="construction", min_language_level="none",
                       headcount=1, visa_track="SSW1", status="open",
                       start_date=TODAY - timedelta(days=200))
        db.session.add(job)
        db.session.commit()
        data = {"title": "Old, renamed", "field": "construction", "headcount": 1,
                "visa_track": "SSW1", "start_date": job.start_date}
        job_ops.update_job_order(job, data, employer)
        assert job.title == "Old, renamed"
        with pytest.raises(JobOrderError):
            job_ops.update_job_order(job, dict(data, start_date=TODAY - timedelta(days=1)),
                                     employer)


def test_a_salary_under_100000_yen_asks_for_confirmation(client, make_user, login):
    login(make_user(role="employer", locale="en"))
    page = client.post("/jobs/new", data=_form(monthly_salary_jpy="21500")).get_data(
        as_text=True)
    assert "below the minimum wage of every prefecture" in page
    assert 'name="confirm_low_salary"' in page and _jobs() == []
    client.post("/jobs/new", data=_form(monthly_salary_jpy="21500", confirm_low_salary="y"))
    assert [j.monthly_salary_jpy for j in _jobs()] == [21500]


def test_an_import_warns_of_a_salary_under_100000_yen(app, make_user):
    employer = make_user(role="employer")
    row = {"external_id": "LOW-1", "employer": employer.organisation.name, "title": "Packer",
           "field": "food_manufacturing", "required_skills": "haccp",
           "preferred_skills": "packaging", "min_japanese_level": "N5", "headcount": "1",
           "prefecture": "aichi",
           "monthly_salary_jpy": "9500", "start_date": "", "visa_track": "SSW1"}
    result = import_job_orders([row], user=employer, dry_run=True)
    assert result.ok, result.errors
    assert [(w.line, w.column) for w in result.warnings] == [(2, "monthly_salary_jpy")]
    assert "minimum wage" in str(result.warnings[0].message)


# -- the blind profile header, the dashboard, the favicon ----------------------------------


def test_the_blind_profile_header_has_no_stray_separator(client, make_user, make_trainee,
                                                         login):
    employer = make_user(role="employer", locale="en")
    job = JobOrder(external_id="JO-BLIND", employer_id=employer.organisation_id,
                   title="Cook", field="food_service", min_language_level="none",
                   headcount=1, visa_track="SSW1", status="open")
    db.session.add(job)
    db.session.commit()
    make_trainee(field="food_service")
    login(employer)
    listing = client.get(f"/jobs/{job.id}/candidates").get_data(as_text=True)
    href = re.search(r'href="(/jobs/\d+/candidates/[^"]+)" class="code"', listing).group(1)
    page = client.get(href).get_data(as_text=True)
    facts = re.search(r'<p class="muted" id="profile-facts">(.*?)</p>', page, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", facts).strip()
    assert text.startswith("Rank 1 · Score") and not text.startswith("·")


def test_ties_for_the_lowest_conversion_are_all_named(client, make_user, login, monkeypatch):
    Row = dispatch_queries.FunnelRow
    rows = [Row("nghe-an", registrations=10, deployments=5),
            Row("thanh-hoa", registrations=10, deployments=1),
            Row("ha-noi", registrations=20, deployments=2)]
    assert dispatch_queries.lowest_conversion(rows) == {"thanh-hoa", "ha-noi"}
    level = [Row("nghe-an", registrations=4), Row("ha-noi", registrations=3)]
    assert dispatch_queries.lowest_conversion(level) == set()  # all alike: none is lowest
    monkeypatch.setattr(dispatch_queries, "funnel_by_province", lambda user: rows)
    login(make_user(role="admin", locale="en"))
    page = client.get("/dispatch/dashboard").get_data(as_text=True)
    sentence = re.search(r'<p id="lowest-conversion">(.*?)</p>', page, re.S).group(1)
    assert "shared by 2 provinces" in sentence
    assert "Hanoi" in sentence and "Thanh Hoa" in sentence and "Nghe An" not in sentence
    assert page.count("tied for the lowest conversion") == 2
    monkeypatch.setattr(dispatch_queries, "funnel_by_province", lambda user: rows[:2])
    page = client.get("/dispatch/dashboard").get_data(as_text=True)
    assert "Lowest conversion: Thanh Hoa (10" in page and "tied for" not in page


def test_the_favicon_exists(client):
    assert (ROOT / "static" / "favicon.svg").is_file()
    response = client.get("/static/favicon.svg")
    response.close()
    assert response.status_code == 200


# -- demo data and the Makefile ------------------------------------------------------------


def test_demo_schools_teach_their_trainees_fields():
    fields = {o.name: set(o.fields) for o in ORGANISATIONS if o.kind == "school"}
    rows = demo_trainee_rows(400, today=date(2026, 7, 1))
    schooled = [r for r in rows if r["school"]]
    assert len(schooled) > 250
    assert not [r for r in schooled if r["field"] not in fields[r["school"]]]
    medical = {r["field"] for r in schooled if "Y tế" in r["school"]}
    assert medical == {"nursing_care"}  # no welder from a medical college


def test_make_translations_prints_both_catalogues():
    out = subprocess.run(["make", "-s", "translations"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert re.search(r"translated in translations/vi/", out)
    assert re.search(r"translated in translations/ja/", out)
