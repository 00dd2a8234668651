"""Fairness check: exposure of provinces and genders in recent rankings against the pool."""

import math
from datetime import datetime, timedelta

import pytest

from matching.extensions import db
from matching.models import Impression, JobOrder
from matching.models._common import utcnow
from matching.ranking.fairness import exposure_report

NOW = datetime(2026, 3, 1, 12, 0)


def w(rank: int) -> float:
    """Exposure of the card at ``rank``, written out here independently of the module."""
    return 1 / math.log2(1 + rank)


@pytest.fixture
def employer(make_user):
    return make_user(role="employer")


@pytest.fixture
def make_job(employer):
    def make(field="construction", min_level="none", min_rank=0):
        n = db.session.query(JobOrder).count() + 1
        job = JobOrder(external_id=f"JO-FAIR-{n}", employer_id=employer.organisation_id,
                       title="Worker", field=field, min_language_level=min_level,
                       min_language_rank=min_rank)
        db.session.add(job)
        db.session.commit()
        return job

    return make


@pytest.fixture
def show(employer):
    """Record that ``trainees`` were shown for ``job`` at ranks start, start + 1, ..."""

    def record(job, trainees, at=NOW - timedelta(days=1), start=1):
        for offset, trainee in enumerate(trainees):
            db.session.add(Impression(job_order_id=job.id, trainee_id=trainee.id,
                                      user_id=employer.id, rank=start + offset, score=1.0,
                                      shown_at=at))
        db.session.commit()

    return record


def trainees(make_trainee, n, **kw):
    return [make_trainee(**kw) for _ in range(n)]


def rows_by_group(report, attribute):
    return {row.group: row for row in report.rows[attribute]}


def test_province_ranked_low_is_flagged_with_the_exact_ratio(make_trainee, make_job, show):
    # Job A (no minimum): 5 Hanoi and 5 An Giang trainees qualify, Hanoi fills ranks 1-5.
    # Job B (N3 minimum): 3 Hanoi and 2 An Giang trainees qualify, Hanoi first again.
    hanoi = trainees(make_trainee, 2, province="ha-noi", japanese_level="N4")
    hanoi += trainees(make_trainee, 3, province="ha-noi", japanese_level="N3")
    angiang = trainees(make_trainee, 3, province="an-giang", japanese_level="N4")
    angiang += trainees(make_trainee, 2, province="an-giang", japanese_level="N3")
    job_a, job_b = make_job(), make_job(min_level="N3", min_rank=3)
    show(job_a, hanoi + angiang)
    show(job_b, hanoi[2:] + angiang[3:])

    report = exposure_report(now=NOW)

    e_hanoi = sum(w(r) for r in range(1, 6)) + sum(w(r) for r in (1, 2, 3))
    e_angiang = sum(w(r) for r in range(6, 11)) + w(4) + w(5)
    share = e_angiang / (e_hanoi + e_angiang)
    expected = share / (7 / 15)  # An Giang's pool: 5 for job A + 2 for job B, of 15
    rows = rows_by_group(report, "province")
    assert rows["an-giang"].qualified == 7 and rows["ha-noi"].qualified == 8
    assert rows["an-giang"].pool_share == pytest.approx(7 / 15)
    assert rows["an-giang"].exposure_share == pytest.approx(share)
    assert rows["an-giang"].ratio == pytest.approx(expected)
    assert expected < 0.8
    assert rows["an-giang"].flagged and not rows["an-giang"].too_few
    assert rows["ha-noi"].ratio == pytest.approx((1 - share) / (8 / 15))
    assert not rows["ha-noi"].flagged
    assert [row.group for row in report.rows["province"]] == ["an-giang", "ha-noi"]
    assert (report.n_job_orders, report.n_impressions, report.n_shown) == (2, 15, 15)
    assert [(attr, row.group) for attr, row in report.flagged()] == [("province", "an-giang")]
    # A laxer threshold flags nobody.
    assert not exposure_report(now=NOW, threshold=0.5).flagged()


def test_equal_exposure_gives_ratios_of_one_and_no_flag(make_trainee, make_job, show):
    hanoi = trainees(make_trainee, 5, province="ha-noi")
    angiang = trainees(make_trainee, 5, province="an-giang")
    job_a, job_b = make_job(), make_job()
    # The provinces take turns at the top: the same ranks for each, over the two jobs.
    show(job_a, [hanoi[0], angiang[0], hanoi[1], angiang[1]])
    show(job_b, [angiang[0], hanoi[0], angiang[1], hanoi[1]])

    report = exposure_report(now=NOW)

    rows = rows_by_group(report, "province")
    assert set(rows) == {"ha-noi", "an-giang"}
    for row in rows.values():
        assert row.ratio == pytest.approx(1.0)
        assert row.exposure_share == pytest.approx(0.5)
        assert not row.flagged
    assert report.flagged() == []


def test_gender_groups_include_not_stated_and_tiny_groups_are_not_judged(
        make_trainee, make_job, show):
    women = trainees(make_trainee, 5, gender="F")
    men = trainees(make_trainee, 5, gender="M")
    other = [make_trainee(gender="X")]
    # Blank gender is stored as NULL by some paths and "" by others: one group.
    unstated = trainees(make_trainee, 3, gender=None) + trainees(make_trainee, 2, gender="")
    job = make_job()
    show(job, men + unstated + women + other)

    report = exposure_report(now=NOW)

    rows = rows_by_group(report, "gender")
    assert set(rows) == {"F", "M", "X", ""}
    assert rows[""].qualified == 5 and rows[""].shown == 5
    total = sum(w(r) for r in range(1, 17))
    assert rows[""].exposure_share == pytest.approx(sum(w(r) for r in range(6, 11)) / total)
    assert rows["F"].ratio == pytest.approx(sum(w(r) for r in range(11, 16)) / total / (5 / 16))
    assert rows["F"].flagged
    # X is last, but one qualified trainee is too few to judge: shown, never flagged.
    assert rows["X"].ratio == pytest.approx(w(16) / total / (1 / 16))
    assert rows["X"].ratio < 0.8
    assert rows["X"].too_few and not rows["X"].flagged
    assert not rows["M"].flagged


def test_only_impressions_within_the_window_count(make_trainee, make_job, show):
    hanoi = trainees(make_trainee, 5, province="ha-noi")
    angiang = trainees(make_trainee, 5, province="an-giang")
    recent, old, older_job = make_job(), make_job(), make_job(field="agriculture")
    show(recent, hanoi + angiang, at=NOW - timedelta(days=10))
    # 100 days ago: An Giang at the top, for another job order, and one of a third job.
    show(old, angiang + hanoi, at=NOW - timedelta(days=100))
    show(older_job, angiang[:1], at=NOW - timedelta(days=100))
    # After `now`: not part of a report for that date.
    show(recent, angiang, at=NOW + timedelta(days=1))

    report = exposure_report(now=NOW)
    assert (report.n_job_orders, report.n_impressions) == (1, 10)
    rows = rows_by_group(report, "province")
    assert rows["an-giang"].qualified == 5  # the old job orders' pools are left out too
    assert rows["an-giang"].ratio == pytest.approx(
        sum(w(r) for r in range(6, 11)) / sum(w(r) for r in range(1, 11)) / 0.5)

    wider = exposure_report(days=120, now=NOW)
    assert (wider.n_job_orders, wider.n_impressions) == (3, 21)
    ten = sum(w(r) for r in range(1, 11))
    assert rows_by_group(wider, "province")["an-giang"].ratio == pytest.approx(
        (ten + w(1)) / (2 * ten + w(1)) / 0.5)
    assert wider.skipped["province"] == []


def test_best_rank_counts_once_per_job_order_and_trainee(make_trainee, make_job, show):
    hanoi = trainees(make_trainee, 5, province="ha-noi")
    angiang = trainees(make_trainee, 5, province="an-giang")
    job = make_job()
    show(job, hanoi + angiang)  # An Giang at 6-10
    show(job, angiang, at=NOW - timedelta(days=2))  # and, another day, at 1-5
    show(job, angiang, start=25)  # below the top 20: ignored

    report = exposure_report(now=NOW)

    rows = rows_by_group(report, "province")
    assert rows["an-giang"].shown == 5
    assert report.n_shown == 10 and report.n_impressions == 15
    # Both provinces now hold ranks 1-5: An Giang at its best, equal exposure.
    assert rows["an-giang"].exposure_share == pytest.approx(0.5)
    assert rows["an-giang"].ratio == pytest.approx(1.0)
    # With --top 3 only ranks 1-3 count, for both provinces alike.
    top3 = rows_by_group(exposure_report(now=NOW, top=3), "province")
    assert top3["an-giang"].shown == 3 and top3["ha-noi"].shown == 3


def test_pool_counts_only_qualified_available_consenting_trainees(
        make_trainee, make_job, show):
    hanoi = trainees(make_trainee, 5, province="ha-noi", japanese_level="N4")
    angiang = trainees(make_trainee, 5, province="an-giang", japanese_level="N4")
    # None of these is in the pool of a construction job needing N4.
    trainees(make_trainee, 3, province="an-giang", field="agriculture")
    trainees(make_trainee, 2, province="an-giang", japanese_level="N5")
    trainees(make_trainee, 1, province="an-giang", japanese_level="none")
    make_trainee(province="an-giang", status="in_process")
    make_trainee(province="an-giang", consent=False)
    job = make_job(min_level="N4", min_rank=2)
    show(job, hanoi + angiang)

    rows = rows_by_group(exposure_report(now=NOW), "province")

    assert rows["an-giang"].qualified == 5
    assert rows["an-giang"].pool_share == pytest.approx(0.5)


def test_tiny_province_is_shown_but_too_few_and_shown_groups_without_pool_are_listed(
        make_trainee, make_job, show):
    hanoi = trainees(make_trainee, 5, province="ha-noi")
    hue = trainees(make_trainee, 2, province="hue")
    gone = make_trainee(province="ca-mau", status="in_process")  # shown, then selected
    job = make_job()
    show(job, [gone, *hanoi, *hue])

    report = exposure_report(now=NOW)

    rows = rows_by_group(report, "province")
    assert set(rows) == {"ha-noi", "hue"}
    assert rows["hue"].too_few and not rows["hue"].flagged and rows["hue"].ratio < 0.8
    assert rows["hue"].pool_share == pytest.approx(2 / 7)
    assert report.skipped["province"] == ["ca-mau"]
    assert report.flagged() == []


def test_queries_do_not_grow_with_the_pool(make_trainee, make_job, show, count_queries):
    job = make_job()
    show(job, trainees(make_trainee, 3, province="ha-noi"))
    with count_queries() as small:
        exposure_report(now=NOW)
    show(make_job(), trainees(make_trainee, 30, province="hue", gender="F"))
    with count_queries() as large:
        report = exposure_report(now=NOW)
    assert report.n_shown == 23  # the second job's ranks beyond 20 are not in the top
    # One count, then one exposure and one pool query per attribute: no query per trainee.
    assert small[0] == large[0] == 5


def test_no_impression_gives_an_empty_report(app):
    report = exposure_report(now=NOW)
    assert report.n_impressions == 0
    assert report.rows == {"province": [], "gender": []}


# -- the admin page and the CLI ---------------------------------------------------------------


@pytest.fixture
def skewed(make_trainee, make_job, show):
    """An Giang always below Hanoi, shown yesterday (real time: the page and CLI use now).

    Three of An Giang's trainees are women, the only women: too few to judge by gender.
    """
    hanoi = trainees(make_trainee, 5, province="ha-noi", gender="M")
    angiang = trainees(make_trainee, 3, province="an-giang", gender="F")
    angiang += trainees(make_trainee, 2, province="an-giang", gender="M")
    show(make_job(), hanoi + angiang, at=utcnow() - timedelta(days=1))
    ratio = sum(w(r) for r in range(6, 11)) / sum(w(r) for r in range(1, 11)) / 0.5
    return ratio


def computed(client, days: int = 90) -> str:
    """The page once the report of ``days`` days was computed: its button starts a
    background task (run inline without Redis) whose page shows the report; the fairness
    page shows the latest one from then on."""
    response = client.post("/admin/fairness", data={"days": days})
    assert response.status_code == 302 and "/tasks/" in response.headers["Location"]
    task_page = client.get(response.headers["Location"]).get_data(as_text=True)
    page = client.get(f"/admin/fairness?days={days}").get_data(as_text=True)
    report = page[page.index('<section class="stats grid">'):page.index("</main>")]
    assert " ".join(report.split()) in " ".join(task_page.split())  # the same on both
    return page


def test_admin_page_shows_the_flagged_province(client, login, make_user, skewed):
    login(make_user(role="admin", locale="en"))
    response = client.get("/admin/fairness")
    assert response.status_code == 200
    assert 'id="no-report"' in response.get_data(as_text=True)  # none computed yet
    html = computed(client)
    assert "Computed on" in html
    flagged_row = html[html.index('class="fairness-flagged"'):]
    flagged_row = flagged_row[:flagged_row.index("</tr>")]
    assert "An Giang" in flagged_row and f"{skewed:.2f}" in flagged_row
    assert "Below 0.80" in flagged_row
    assert "Ha Noi" not in flagged_row and "Hanoi" not in flagged_row
    assert "Female" in html  # gender table, translated labels
    assert "today&#39;s pool" in html or "today's pool" in html
    assert "<svg" in html


def test_admin_page_window_form(client, login, make_user, skewed):
    login(make_user(role="admin", locale="en"))
    html = client.get("/admin/fairness?days=0").get_data(as_text=True)
    assert "between 1 and 3650" in html
    assert 'value="0"' in html
    assert 'id="compute-report"' not in html  # nothing to compute with a bad window
    # The impressions are a day old: a 2-day window holds them, a 1-hour one could not.
    html = computed(client, days=2)
    assert "(last 2 days)" in html and "An Giang" in html


def test_admin_page_vietnamese(client, login, make_user, skewed):
    login(make_user(role="admin", locale="vi"))
    html = computed(client)
    assert "50,0%" in html  # each province's pool share, with the Vietnamese decimal comma


def test_admin_page_names_not_stated_and_groups_without_pool(
        client, login, make_user, make_trainee, make_job, show):
    pool = trainees(make_trainee, 5, province="hue", gender=None)
    gone = make_trainee(province="ca-mau", status="in_process")
    show(make_job(), [gone, *pool], at=utcnow() - timedelta(hours=1))
    login(make_user(role="admin", locale="en"))
    html = computed(client)
    gender = html[html.index('id="fairness-gender"'):]
    assert "<th scope=\"row\">Not stated</th>" in gender
    province = html[html.index('id="fairness-province"'):html.index('id="fairness-gender"')]
    assert "no qualified trainee today (no ratio): Ca Mau." in province


@pytest.mark.parametrize("role", ["employer", "department", "agency"])
def test_admin_page_is_forbidden_to_other_roles(client, login, make_user, role):
    login(make_user(role=role))
    assert client.get("/admin/fairness").status_code == 403
    assert client.post("/admin/fairness", data={"days": 30}).status_code == 403


def test_cli_prints_both_tables_flags_and_exits_zero(runner, skewed):
    result = runner.invoke(args=["model", "fairness"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "by province" in out and "by gender" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("an-giang"))
    assert "An Giang" in line and "FLAGGED" in line and f"{skewed:.2f}" in line
    assert "today" in out  # the pool is today's pool, said plainly
    women = next(ln for ln in out.splitlines() if ln.strip().startswith("F (female)"))
    assert "too few to judge" in women and "FLAGGED" not in women
    assert out.strip().splitlines()[-1] == f"1 group below 0.8: province an-giang ({skewed:.2f})"


def test_cli_options(runner, skewed):
    result = runner.invoke(args=["model", "fairness", "--threshold", "0.5", "--days", "30",
                                 "--top", "20"])
    assert result.exit_code == 0, result.output
    assert "FLAGGED" not in result.output
    assert result.output.strip().splitlines()[-1] == "no group below 0.5"
    assert runner.invoke(args=["model", "fairness", "--days", "0"]).exit_code == 2


def test_cli_with_no_impressions(runner):
    result = runner.invoke(args=["model", "fairness"])
    assert result.exit_code == 0
    assert "nothing to judge" in result.output
