"""A job order's requirements are filters (issue 10 §3): a hard minimum Japanese level and a
start window exclude candidates from the ranking, the candidate page and ``flask rank``."""

import io
import json
import re
from datetime import date, timedelta
from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp
import sqlalchemy as sa
from flask_babel import force_locale

from matching.extensions import db
from matching.models import Impression, JobOrder
from matching.operations.decisions import record_decision
from matching.operations.imports.job_orders import import_job_orders
from matching.operations.imports.parsing import import_file
from matching.ranking.features import Job, Pool, requirements_mask
from matching.ranking.model import PRIOR, rank_pool
from matching.ranking.pool import clear_memory_cache, load_pool
from matching.ranking.service import candidate_counts, rank_job, rank_one
from matching.references import candidate_ref
from tests.conftest import add_job_order, messages

START = date.today() + timedelta(days=60)
import_job_orders_file = partial(import_file, import_rows=import_job_orders)


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


# -- the mask ---------------------------------------------------------------------------------


def pool_of(*people) -> Pool:
    """A pool of (language_rank, available_from) pairs, ids 1, 2, ..."""
    return Pool.from_records(
        {"id": i, "field": "construction", "skills": [], "language_rank": rank,
         "available_from": available} for i, (rank, available) in enumerate(people, 1))


POOL = (
    (3, None),  # N3, available now (unknown)
    (2, START + timedelta(days=30)),  # N4, exactly at the end of a 30-day window
    (1, START - timedelta(days=5)),  # N5, before the start
    (4, START + timedelta(days=31)),  # N2, one day too late for 30 days
    (0, START + timedelta(days=200)),  # no Japanese, very late
)


@pytest.mark.parametrize(("job", "meets"), [
    (Job("construction", min_language_rank=2), [1, 1, 1, 1, 1]),  # a weight only
    (Job("construction", min_language_rank=2, language_is_hard=True), [1, 1, 0, 1, 0]),
    (Job("construction", language_is_hard=True), [1, 1, 1, 1, 1]),  # no minimum: no filter
    (Job("construction", start_date=START, start_window_days=30), [1, 1, 1, 0, 0]),
    (Job("construction", start_date=START, start_window_days=0), [1, 0, 1, 0, 0]),
    (Job("construction", start_window_days=30), [1, 1, 1, 1, 1]),  # no start date: no window
    (Job("construction", min_language_rank=2, language_is_hard=True, start_date=START,
         start_window_days=30), [1, 1, 0, 0, 0]),
])
def test_requirements_mask(job, meets):
    mask = requirements_mask(pool_of(*POOL), job)
    assert mask.dtype == bool and mask.tolist() == [bool(m) for m in meets]


def test_excluded_rows_are_not_ranked_and_places_count_the_others():
    pool = pool_of(*POOL)
    job = Job("construction", min_language_rank=2, language_is_hard=True)
    mask = requirements_mask(pool, job)
    ranked = rank_pool(PRIOR, pool, job, k=10, mask=mask)
    assert sorted(ranked.ids.tolist()) == [1, 2, 4]
    everyone = rank_pool(PRIOR, pool, job, k=10)
    assert [i for i in everyone.ids.tolist() if i in (1, 2, 4)] == ranked.ids.tolist()
    assert len(rank_pool(PRIOR, pool, job, k=2, mask=mask).ids) == 2


# -- the database: a job order, five candidates ---------------------------------------------


@pytest.fixture
def hiring(make_user, make_trainee):
    """An employer's job order requiring N4 (hard) and a start within 30 days, and five
    trainees: two meet both, one is below N4, one is late, one is both."""
    employer = make_user(role="employer", locale="en")
    job = add_job_order(
        external_id="JO-REQ-1", employer_id=employer.organisation_id, title="Rebar worker",
        field="construction", required_skills="", min_language_level="N4",
        min_language_rank=2, language_is_hard=True, start_window_days=30, headcount=2,
        prefecture="aichi", start_date=START, visa_track="SSW1")
    people = {
        "ok_now": make_trainee(japanese_level="N3"),
        "ok_in_window": make_trainee(japanese_level="N4",
                                     available_from=START + timedelta(days=30)),
        "below": make_trainee(japanese_level="N5"),
        "late": make_trainee(japanese_level="N2", available_from=START + timedelta(days=90)),
        "both": make_trainee(japanese_level="N5", available_from=START + timedelta(days=90)),
    }
    return employer, job, people


def meeting(people):
    return {people["ok_now"].id, people["ok_in_window"].id}


def test_rank_job_leaves_excluded_trainees_out(hiring):
    _, job, people = hiring
    items = rank_job(job, top=10)
    assert {item["trainee_id"] for item in items} == meeting(people)
    assert [item["rank"] for item in items] == [1, 2]
    assert all(item["meets_requirements"] for item in items)
    everyone = rank_job(job, top=10, requirements=False)
    assert len(everyone) == 5
    unmet = {item["trainee_id"] for item in everyone if not item["meets_requirements"]}
    assert unmet == {people[k].id for k in ("below", "late", "both")}
    counts = candidate_counts(job, load_pool())
    assert (counts.shown, counts.rejected_hidden, counts.excluded) == (2, 0, 3)


def test_rank_one_says_whether_the_candidate_meets_the_requirements(hiring):
    _, job, people = hiring
    ok = rank_one(job, people["ok_in_window"].id)
    assert ok["meets_requirements"] is True and ok["rank"] in (1, 2)
    late = rank_one(job, people["late"].id)
    assert late["meets_requirements"] is False and late["rank"] is None
    assert late["score"] is not None  # still explained


def test_without_requirements_nobody_is_excluded(hiring):
    _, job, _ = hiring
    job.language_is_hard, job.start_window_days = False, None
    db.session.commit()
    assert len(rank_job(job, top=10)) == 5
    assert candidate_counts(job, load_pool()).excluded == 0


# -- the CLI ----------------------------------------------------------------------------------


def test_rank_cli_excludes_and_says_how_many(runner, hiring):
    _, job, people = hiring
    result = runner.invoke(args=["rank", "JO-REQ-1", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    ids = {p.external_id for k, p in people.items() if p.id in meeting(people)}
    assert {item["external_id"] for item in out["JO-REQ-1"]} == ids
    assert "JO-REQ-1: 3 trainees excluded by the job order's requirements" in result.stderr
    table = runner.invoke(args=["rank", "JO-REQ-1"])
    assert table.exit_code == 0, table.output
    assert "2 of 2 candidates (3 trainees excluded by the job order's requirements)" \
        in table.stdout
    for key in ("below", "late", "both"):
        assert people[key].external_id not in table.stdout


# -- the form and the job order's page -------------------------------------------------------


def form_data(**kw) -> dict:
    data = {"external_id": "", "title": "Care worker", "field": "nursing_care",
            "required_skills": "", "preferred_skills": "", "min_language_level": "N4",
            "headcount": "2", "prefecture": "osaka", "monthly_salary_jpy": "220000",
            "start_date": START.isoformat(), "visa_track": "SSW1", "agency_id": ""}
    data.update(kw)
    return data


def input_tag(body: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', body).group(0)


def only_job() -> JobOrder:
    return db.session.scalars(sa.select(JobOrder)).one()


def test_the_form_sets_and_clears_the_requirements(client, make_user, login):
    login(make_user(role="employer", locale="en"))
    form = client.get("/jobs/new").get_data(as_text=True)
    assert 'name="language_is_hard"' in form and 'name="start_window_days"' in form
    response = client.post("/jobs/new", data=form_data(language_is_hard="y",
                                                       start_window_days="30"))
    assert response.status_code == 302
    job = only_job()
    assert (job.language_is_hard, job.start_window_days) == (True, 30)
    view = client.get(response.location).get_data(as_text=True)
    assert "Japanese level JLPT N4 or above" in view or "Japanese level N4 or above" in view
    assert "Available at the latest 30 days after the start date" in view
    edit = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    assert "checked" in input_tag(edit, "language_is_hard")
    assert 'value="30"' in input_tag(edit, "start_window_days")
    # Unticked and emptied, as a browser sends them (an unticked box is not sent at all).
    client.post(f"/jobs/{job.id}/edit", data=form_data(external_id=job.external_id,
                                                       status="open", start_window_days=""))
    db.session.expire_all()
    assert (only_job().language_is_hard, only_job().start_window_days) == (False, None)
    view = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "None: every available candidate is ranked." in view


@pytest.mark.parametrize(("changes", "message"), [
    ({"start_window_days": "-1"}, "Enter a number of days from 0 to 3650"),
    ({"start_window_days": "soon"}, "Enter a whole number of days, for example 30."),
    ({"start_window_days": "30", "start_date": ""},
     "Enter a start date: the start window counts from it."),
])
def test_the_form_refuses_a_bad_start_window(client, make_user, login, changes, message):
    login(make_user(role="employer", locale="en"))
    body = client.post("/jobs/new", data=form_data(**changes)).get_data(as_text=True)
    assert 'id="start_window_days-errors"' in body and message in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobOrder)) == 0


# -- the import -------------------------------------------------------------------------------

HEADER = ("external_id,employer,title,field,required_skills,preferred_skills,"
          "min_japanese_level,headcount,prefecture,monthly_salary_jpy,start_date,visa_track")


def csv_file(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def job_row(external_id: str, *extra: str) -> str:
    return ",".join((external_id, "Sakura Foods", "Food line worker", "food_manufacturing",
                     "haccp", "", "N4", "3", "aichi", "215000", START.isoformat(), "SSW1",
                     *extra))


def stored(external_id: str) -> tuple[bool, int | None]:
    job = db.session.scalars(sa.select(JobOrder).where(
        JobOrder.external_id == external_id)).one()
    return job.language_is_hard, job.start_window_days


def test_import_reads_the_requirement_columns(app):
    header = HEADER + ",language_is_hard,start_window_days"
    values = [("yes", "30"), ("Có", "0"), ("はい", ""), ("1", "７"), ("TRUE", "14"),
              ("không", ""), ("いいえ", "3650"), ("0", ""), ("false", ""), ("", "")]
    rows = [job_row(f"JO-{i}", hard, window) for i, (hard, window) in enumerate(values)]
    result = import_job_orders_file(csv_file(*rows, header=header), "jobs.csv")
    assert result.ok, messages(result)
    got = [stored(f"JO-{i}") for i in range(len(values))]
    assert got == [(True, 30), (True, 0), (True, None), (True, 7), (True, 14),
                   (False, None), (False, 3650), (False, None), (False, None), (False, None)]


def test_files_without_the_columns_stay_valid_and_keep_stored_requirements(app):
    header = HEADER + ",language_is_hard,start_window_days"
    assert import_job_orders_file(csv_file(job_row("JO-A", "yes", "21"), header=header),
                                  "jobs.csv").ok
    assert import_job_orders_file(csv_file(job_row("JO-A"), job_row("JO-B")), "jobs.csv").ok
    assert stored("JO-A") == (True, 21)  # an update without the columns changes nothing
    assert stored("JO-B") == (False, None)  # a new row gets the defaults


def test_import_names_the_row_and_column_of_a_bad_requirement(app):
    header = HEADER + ",language_is_hard,start_window_days"
    no_start = job_row("JO-4", "no", "10").replace(START.isoformat(), "")
    result = import_job_orders_file(csv_file(
        job_row("JO-1", "maybe", "30"), job_row("JO-2", "yes", "-3"),
        job_row("JO-3", "no", "two weeks"), no_start, job_row("JO-5", "yes", "3651"),
        header=header), "jobs.csv")
    assert not result.ok and result.created == 0
    got = messages(result)
    assert [(line, column) for line, column, _ in got] == [
        (2, "language_is_hard"), (3, "start_window_days"), (4, "start_window_days"),
        (5, "start_window_days"), (6, "start_window_days")]
    assert got[0][2] == "Write yes or no, not “maybe”."
    assert got[1][2].startswith("The start window must be a whole number of days from 0 to "
                                "3650") and "“-3”" in got[1][2]
    assert "needs a start date" in got[3][2]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobOrder)) == 0
    with force_locale("vi"):
        assert str(result.errors[0].message) == ("Hãy ghi “có” hoặc “không” (yes/no), "
                                                 "không ghi “maybe”.")
    with force_locale("ja"):
        assert "はい" in str(result.errors[0].message)
        assert "許容期間" in str(result.errors[1].message)


def test_the_import_template_has_the_columns(client, make_user, login):
    login(make_user(role="employer", locale="en"))
    text = client.get("/jobs/import/template.csv").get_data(as_text=True)
    header = text.lstrip("\ufeff").splitlines()[0].split(",")
    assert header[-3:] == ["language_is_hard", "start_window_days", "contract_months"]


# -- the candidate page -----------------------------------------------------------------------


def cards(body: str) -> list[str]:
    return [part.split('"', 1)[0] for part in body.split('data-code="')[1:]]


def impressions() -> list[Impression]:
    return db.session.scalars(sa.select(Impression)).all()


def test_the_candidate_page_hides_excluded_candidates_and_counts_them(client, login,
                                                                      hiring):
    employer, job, people = hiring
    login(employer)
    body = client.get(f"/jobs/{job.id}/candidates").get_data(as_text=True)
    assert len(cards(body)) == 2 and "unmet-requirements" not in body
    assert "3 candidates do not meet your requirements and are hidden." in body
    assert f'href="/jobs/{job.id}/candidates?requirements=off"' in body
    # Excluded candidates get no impression; the two shown do.
    assert {i.trainee_id for i in impressions()} == meeting(people)

    shown = client.get(f"/jobs/{job.id}/candidates?requirements=off").get_data(as_text=True)
    assert len(cards(shown)) == 5
    assert shown.count('class="badge badge-expiring unmet-requirements"') == 3
    assert "3 candidates who do not meet your requirements are shown, marked." in shown
    assert "Hide them again" in shown
    # For this visit only: the next plain visit filters again.
    again = client.get(f"/jobs/{job.id}/candidates").get_data(as_text=True)
    assert len(cards(again)) == 2


def test_rejected_and_excluded_counts_add_up_and_pages_count_the_shown(client, login,
                                                                       hiring, make_trainee):
    employer, job, people = hiring
    # 45 more who meet the requirements: 47 shown → 3 pages of 20 (PER_PAGE).
    for _ in range(45):
        make_trainee(japanese_level="N3")
    login(employer)
    body = client.get(f"/jobs/{job.id}/candidates").get_data(as_text=True)
    assert f'href="/jobs/{job.id}/candidates?page=3"' in body
    assert 'page=4' not in body
    last = client.get(f"/jobs/{job.id}/candidates?page=3").get_data(as_text=True)
    assert len(cards(last)) == 7
    # Reject one who meets them and one excluded: neither is counted twice.
    record_decision(job, people["ok_now"], "rejected", employer)
    record_decision(job, people["late"], "rejected", employer)
    db.session.commit()
    clear_memory_cache()
    counts = candidate_counts(job, load_pool(), {people["ok_now"].id, people["late"].id})
    assert (counts.shown, counts.rejected_hidden, counts.excluded) == (46, 1, 2)
    last = client.get(f"/jobs/{job.id}/candidates?page=3").get_data(as_text=True)
    assert len(cards(last)) == 6
    assert "2 candidates do not meet your requirements and are hidden." in last
    everything = client.get(f"/jobs/{job.id}/candidates?requirements=off&rejected=show&page=3"
                            ).get_data(as_text=True)
    assert len(cards(everything)) == 50 - 40
    # Both toggles and the pager keep the other choice.
    assert "?page=2&amp;rejected=show&amp;requirements=off" in everything
    assert f'href="/jobs/{job.id}/candidates?requirements=off" id="toggle-rejected"' \
        in everything
    assert f'href="/jobs/{job.id}/candidates?rejected=show" id="toggle-requirements"' \
        in everything


def test_the_profile_of_an_excluded_candidate_says_so(client, login, hiring):
    employer, job, people = hiring
    login(employer)
    body = client.get(f"/jobs/{job.id}/candidates/"
                      f"{candidate_ref(job.id, people['below'].id)}").get_data(as_text=True)
    assert 'id="unmet-requirements"' in body and "Does not meet your requirements" in body


def test_the_mask_is_vectorised_on_a_large_pool():
    n = 200_000
    rng = np.random.default_rng(0)
    pool = Pool.from_arrays(
        ids=np.arange(1, n + 1), skills=sp.csr_matrix((n, 0)),
        skill_index={}, field=np.zeros(n, dtype=np.int16),
        language_rank=rng.integers(0, 7, n).astype(np.float32),
        experience_years=np.zeros(n, dtype=np.float32),
        training_hours=np.zeros(n, dtype=np.float32),
        available_day=rng.integers(0, 30_000, n).astype(np.int32),
        prefectures=sp.csr_matrix((n, 47)))
    job = Job("construction", min_language_rank=3, language_is_hard=True, start_date=START,
              start_window_days=10)
    mask = requirements_mask(pool, job)
    limit = (START - date(1970, 1, 1)).days + 10
    expected = (pool._rank >= 3) & (pool.available_day <= limit)
    np.testing.assert_array_equal(mask, expected)
