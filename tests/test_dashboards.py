"""Pipeline overviews: the platform dashboard per province (admin) and a department's
pipeline page, checked against a small hand-made dataset."""

import re
from datetime import datetime

import pytest

from matching.extensions import db
from matching.models import Decision, Dispatch, JobOrder
from tests.conftest import add_job_order


@pytest.fixture
def login(switch_login):
    """Log in as ``user``, logging out whoever was logged in before."""
    return switch_login


@pytest.fixture
def orgs(make_org):
    return {"agency": make_org(kind="agency"), "employer": make_org(kind="employer")}


@pytest.fixture
def add(orgs, make_trainee):
    """Builders for the dataset: trainees, decisions and dispatches (set-up, no history)."""
    jobs = []

    def job() -> JobOrder:
        j = add_job_order(external_id=f"JO-DASH-{len(jobs) + 1}",
                          employer_id=orgs["employer"].id, agency_id=orgs["agency"].id,
                          title="Care worker", field="nursing_care")
        jobs.append(j)
        return j

    def decide(trainee, decision, *, on=None, at=None):
        db.session.add(Decision(job_order_id=(on or job()).id, trainee_id=trainee.id,
                                decision=decision, decided_at=at or datetime(2026, 1, 1)))
        db.session.commit()

    def dispatch(trainee, stage):
        j = job()
        decide(trainee, "selected", on=j, at=datetime(2026, 2, 1))
        d = Dispatch(job_order_id=j.id, trainee_id=trainee.id, agency_id=orgs["agency"].id,
                     stage=stage)
        db.session.add(d)
        db.session.commit()
        return d

    return {"trainee": make_trainee, "decide": decide, "dispatch": dispatch, "job": job}


@pytest.fixture
def dataset(add):
    """nghe-an: 4 registered, 3 shortlisted, 2 selected, 2 departed, 1 deployed (25 %).
    thanh-hoa: 2 registered, 1 shortlisted, 1 selected, departed and deployed (50 %).
    ha-tinh: 5 registered, 1 shortlisted, 1 selected, none departed (0 %: the lowest)."""
    t = {p: [add["trainee"](province=p) for _ in range(n)]
         for p, n in (("nghe-an", 4), ("thanh-hoa", 2), ("ha-tinh", 5))}
    na = t["nghe-an"]
    add["decide"](na[0], "shortlisted")
    add["dispatch"](na[1], "deployed")
    add["dispatch"](na[2], "departed")
    th = t["thanh-hoa"]
    # Shortlisted, then rejected: the latest decision counts, so not shortlisted any more.
    j = add["job"]()
    add["decide"](th[0], "shortlisted", on=j, at=datetime(2026, 1, 1))
    add["decide"](th[0], "rejected", on=j, at=datetime(2026, 1, 5))
    add["dispatch"](th[1], "withdrawn")  # a first dispatch that fell through …
    add["dispatch"](th[1], "completed")  # … and a second one: one person all the same
    ht = t["ha-tinh"]
    add["dispatch"](ht[0], "coe_applied")
    return t


def _row(html: str, province: str) -> dict[str, str]:
    row = re.search(rf'<tr data-province="{province}"[^>]*>(.*?)</tr>', html, re.S).group(0)
    cells = dict(re.findall(r'data-step="(\w+)">([^<]*)<', row))
    cells["class"] = re.search(r'class="([^"]*)"', row).group(1)
    return cells


def test_dashboard_counts_each_step_per_province(client, login, make_user, dataset):
    login(make_user(role="admin", locale="en"))
    response = client.get("/dispatch/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    steps = ("registrations", "shortlists", "selections", "departures", "deployments")
    expected = {"nghe-an": (4, 3, 2, 2, 1), "thanh-hoa": (2, 1, 1, 1, 1),
                "ha-tinh": (5, 1, 1, 0, 0)}
    for province, numbers in expected.items():
        row = _row(html, province)
        assert tuple(int(row[s]) for s in steps) == numbers, province
    assert _row(html, "nghe-an")["conversion"] == "25.0%"
    assert _row(html, "thanh-hoa")["conversion"] == "50.0%"
    assert _row(html, "ha-tinh")["conversion"] == "0.0%"
    # The province where registration least turns into placement stands out.
    assert "lowest" in _row(html, "ha-tinh")["class"]
    assert "lowest" not in _row(html, "nghe-an")["class"]
    assert re.search(r'id="total-registrations">11<', html)
    assert re.search(r'id="total-deployments">2<', html)
    # The chart has one group per province.
    chart = html[html.index('id="funnel-chart"'):html.index("</svg>")]
    assert len(re.findall(r'<g class="province', chart)) == 3


def test_dashboard_query_count_does_not_grow_with_the_data(client, login, make_user, add,
                                                          dataset, count_queries):
    login(make_user(role="admin", locale="en"))
    db.session.expire_all()  # each request starts from the database, as in production
    with count_queries() as small:
        assert client.get("/dispatch/dashboard").status_code == 200
    for province in ("ha-noi", "hue", "lao-cai"):
        for stage in ("selected", "deployed"):
            add["dispatch"](add["trainee"](province=province), stage)
    db.session.expire_all()
    with count_queries() as large:
        html = client.get("/dispatch/dashboard").get_data(as_text=True)
    assert 'data-province="lao-cai"' in html
    assert large[0] == small[0]
    assert small[0] <= 5  # the user, then three grouped queries


def test_dashboard_is_for_administrators_only(client, login, make_user):
    for role in ("department", "employer", "agency"):
        login(make_user(role=role))
        assert client.get("/dispatch/dashboard").status_code == 403


def test_department_pipeline_counts_its_province_only(client, login, make_user, dataset):
    login(make_user(role="department", province="nghe-an", locale="en"))
    html = client.get("/dispatch/province").get_data(as_text=True)
    assert re.search(r'id="count-deployed">1<', html)
    assert re.search(r'id="count-departed">1<', html)
    assert re.search(r'id="count-completed">0<', html)  # thanh-hoa's, not ours
    assert re.search(r'id="count-total">2<', html)
    assert dataset["nghe-an"][1].full_name in html
    assert dataset["thanh-hoa"][1].full_name not in html
    assert 'id="stage-chart"' in html
    # Filtered by stage, the list keeps only that stage.
    html = client.get("/dispatch/province?stage=departed").get_data(as_text=True)
    assert dataset["nghe-an"][2].full_name in html
    assert dataset["nghe-an"][1].full_name not in html


def test_admin_chooses_the_province(client, login, make_user, dataset):
    login(make_user(role="admin", locale="en"))
    html = client.get("/dispatch/province?province=thanh-hoa").get_data(as_text=True)
    assert re.search(r'id="count-completed">1<', html)
    assert re.search(r'id="count-withdrawn">1<', html)
    assert re.search(r'id="count-deployed">0<', html)
    html = client.get("/dispatch/province").get_data(as_text=True)  # all provinces
    assert re.search(r'id="count-total">3<', html)  # still moving: 2 in nghe-an, 1 ha-tinh
    assert re.search(r'id="count-exits">1<', html)
    assert re.search(r'id="count-completed">1<', html)


def test_pipeline_pages_query_count(client, login, make_user, add, dataset, count_queries):
    login(make_user(role="department", province="nghe-an", locale="en"))
    db.session.expire_all()  # each request starts from the database, as in production
    with count_queries() as small:
        client.get("/dispatch/province")
    for stage in ("training", "visa_issued", "deployed", "selected"):
        add["dispatch"](add["trainee"](province="nghe-an"), stage)
    db.session.expire_all()
    with count_queries() as large:
        html = client.get("/dispatch/province").get_data(as_text=True)
    assert re.search(r'id="count-total">6<', html)
    assert large[0] == small[0]
