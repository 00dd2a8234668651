"""The regional picture (issue 13 §5): per province, registered → available → shortlisted →
selected → departed → deployed with the conversion at each step, median days from
registration to departure, what workers paid (median, total) next to the survey average,
fee flags by rule, grievances open and overdue, the stored fairness report's exposure ratio;
charts with a title and description; a CSV of the same figures; the admin all 34 provinces,
a department its own; a fixed number of queries. Checked on a hand-made world."""

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest

from matching.extensions import db
from matching.fees import refresh_dispatches
from matching.models import Charge, Decision, Dispatch, Grievance, JobOrder, StatusEvent
from matching.models._common import utcnow
from matching.models.background import BackgroundTask
from matching.vocab import PROVINCES

REGISTERED = datetime(2026, 1, 1, 9, 0)


@pytest.fixture
def login(switch_login):
    return switch_login


@pytest.fixture
def build(make_org, make_trainee):
    """Builders: a trainee registered on ``REGISTERED``; a selected dispatch with its stage
    history; a payment by the worker; a grievance filed ``days_ago``."""
    agency, employer = make_org(kind="agency"), make_org(kind="employer")
    jobs = []

    def trainee(province, status="available", decision=None):
        t = make_trainee(province=province, status=status, created_at=REGISTERED)
        if decision:
            db.session.add(Decision(job_order_id=job().id, trainee_id=t.id, decision=decision,
                                    decided_at=datetime(2026, 1, 10)))
            db.session.commit()
        return t

    def job():
        j = JobOrder(external_id=f"JO-REG-{len(jobs) + 1}", employer_id=employer.id,
                     agency_id=agency.id, title="Care worker", field="nursing_care")
        db.session.add(j)
        db.session.commit()
        jobs.append(j)
        return j

    def dispatch(province, stage, events=(), status="in_process"):
        t = trainee(province, status=status)
        j = job()
        db.session.add(Decision(job_order_id=j.id, trainee_id=t.id, decision="selected",
                                decided_at=datetime(2026, 1, 20)))
        d = Dispatch(job_order_id=j.id, trainee_id=t.id, agency_id=agency.id, stage=stage)
        db.session.add(d)
        db.session.flush()
        previous = None
        for to_stage, on in (("selected", date(2026, 2, 1)), *events):
            db.session.add(StatusEvent(dispatch_id=d.id, from_stage=previous, to_stage=to_stage,
                                       happened_on=on))
            previous = to_stage
        refresh_dispatches([d.id])  # written here, not through the operations
        db.session.commit()
        return d

    def pay(d, kind, amount):
        db.session.add(Charge(dispatch_id=d.id, kind=kind, amount=amount, currency="JPY",
                              paid_on=date(2026, 1, 25), payer="worker"))
        refresh_dispatches([d.id])
        db.session.commit()

    def grievance(d, state="open", days_ago=0):
        db.session.add(Grievance(trainee_id=d.trainee_id, dispatch_id=d.id, category="fees",
                                 description="Phí quá cao.", state=state,
                                 created_at=utcnow() - timedelta(days=days_ago)))
        db.session.commit()

    return {"trainee": trainee, "dispatch": dispatch, "pay": pay, "grievance": grievance}


@pytest.fixture
def world(build):
    """nghe-an: 5 registered (2 available), 4 shortlisted, 3 selected, 2 departed (after 60
    and 100 days), 1 deployed; workers paid ¥400,000 (brokerage ¥100,000: a flag) and
    ¥250,000 (deposit ¥50,000: a flag); the selected worker has waited since 2026-02-01
    (over 180 days: a flag); grievances: one open for 10 days (overdue), one acknowledged,
    one resolved.
    ha-tinh: 2 registered (1 available), 1 shortlisted, selected, departed and deployed (no
    departure date recorded: to the checks, waiting too long); one worker paid ¥1,000,000;
    one grievance open today."""
    build["trainee"]("nghe-an")
    build["trainee"]("nghe-an", decision="shortlisted")
    deployed = build["dispatch"]("nghe-an", "deployed", status="deployed", events=(
        ("departed", date(2026, 3, 2)), ("deployed", date(2026, 3, 10))))
    departed = build["dispatch"]("nghe-an", "departed", events=(("departed", date(2026, 4, 11)),))
    build["dispatch"]("nghe-an", "selected")
    build["pay"](deployed, "training", 300_000)
    build["pay"](deployed, "brokerage", 100_000)
    build["pay"](departed, "medical", 200_000)
    build["pay"](departed, "deposit", 50_000)
    build["grievance"](deployed, "open", days_ago=10)
    build["grievance"](deployed, "acknowledged", days_ago=20)
    build["grievance"](departed, "resolved", days_ago=30)

    build["trainee"]("ha-tinh")
    far = build["dispatch"]("ha-tinh", "deployed", status="deployed")
    build["pay"](far, "training", 1_000_000)
    build["grievance"](far, "open")
    return {"deployed": deployed, "far": far}


def _row(html: str, table: str, province: str) -> str:
    body = html[html.index(f'id="{table}"'):]
    return re.search(rf'<tr data-province="{province}"[^>]*>(.*?)</tr>', body, re.S).group(1)


def _cells(row: str, attr: str) -> dict[str, str]:
    return {k: re.sub(r"<[^>]+>", " ", v).split()[0] if v.strip() else ""
            for k, v in re.findall(rf'{attr}="(\w+)">(.*?)</td>', row, re.S)}


def _rates(row: str) -> dict[str, str]:
    return dict(re.findall(r'data-rate="(\w+)"[^>]*>([^<]*)<', row))


def test_admin_sees_every_province_with_its_figures(client, login, make_user, world):
    login(make_user(role="admin", locale="en"))
    html = client.get("/regions/").get_data(as_text=True)
    assert len(re.findall(r'<tr data-province="', html[html.index('id="pipeline-table"'):
                                                            html.index('id="fees-table"')])) == 34
    na = _row(html, "pipeline-table", "nghe-an")
    assert _cells(na, "data-step") == {
        "registrations": "5", "available": "2", "shortlists": "4", "selections": "3",
        "departures": "2", "deployments": "1", "conversion": "20.0%", "median_days": "80"}
    assert _rates(na) == {"available": "40.0%", "shortlists": "80.0%", "selections": "75.0%",
                          "departures": "66.7%", "deployments": "50.0%"}
    ht = _row(html, "pipeline-table", "ha-tinh")
    assert _cells(ht, "data-step")["median_days"] == "—"  # departure date never recorded
    assert _cells(ht, "data-step")["deployments"] == "1"
    empty = _row(html, "pipeline-table", "ca-mau")  # a province without trainees is shown
    assert _cells(empty, "data-step")["registrations"] == "0"
    assert _cells(empty, "data-step")["conversion"] == "—"

    fees = _cells(_row(html, "fees-table", "nghe-an"), "data-col")
    assert fees == {"workers_paid": "2", "median_paid": "¥325,000", "total_paid": "¥650,000",
                    "flags": "3", "grievances_open": "2", "grievances_overdue": "1",
                    "exposure": "—"}
    fees = _cells(_row(html, "fees-table", "ha-tinh"), "data-col")
    assert (fees["median_paid"], fees["grievances_open"], fees["grievances_overdue"]) == (
        "¥1,000,000", "1", "0")
    # The totals: medians over every trainee, not medians of medians.
    assert re.search(r'id="total-registrations">7<', html)
    assert re.search(r'id="total-median-days">80<', html)
    assert re.search(r'id="total-median-paid">¥400,000<', html)
    assert re.search(r'id="total-flags">4<', html)
    assert 'id="total-grievances-overdue">1 overdue<' in html
    flags = html[html.index('id="flags-by-rule"'):]
    assert re.search(r'data-rule="brokerage_charged"[^>]*>.*?data-col="count"><a [^>]*>1<', flags,
                     re.S)
    assert re.search(r'data-rule="waiting_too_long"[^>]*>.*?data-col="count"><a [^>]*>2<', flags,
                     re.S)
    assert re.search(r'data-rule="service_fee_over_cap"[^>]*>.*?data-col="count">0<', flags, re.S)
    # Survey average next to the costs, and the chart's line.
    assert "¥688,143" in html
    chart = html[html.index('id="cost-chart"'):]
    chart = chart[:chart.index("</svg>")]
    assert '<g class="reference">' in chart
    assert re.search(r'<g class="bar over" data-key="ha-tinh">', chart)  # above the survey
    assert re.search(r'<g class="bar " data-key="nghe-an">', chart)
    # The charts draw the provinces with figures (the tables list all 34).
    funnel = html[html.index('id="funnel-chart"'):]
    funnel = funnel[:funnel.index("</svg>")]
    assert re.findall(r'<g class="province[^"]*" data-province="([\w-]+)"', funnel) == [
        "nghe-an", "ha-tinh"]
    assert re.findall(r'data-key="([\w-]+)"', chart) == ["nghe-an", "ha-tinh"]
    # Exposure: no report stored yet, and the admin is sent to compute one.
    assert "Exposure ratio: not computed yet." in html
    assert 'id="fairness-link"' in html


def test_every_chart_has_a_title_and_a_description(client, login, make_user, world):
    login(make_user(role="admin", locale="en"))
    for url, charts in (("/regions/", 2), ("/regions/nghe-an", 2)):
        html = client.get(url).get_data(as_text=True)
        svgs = re.findall(r"<svg .*?</svg>", html, re.S)
        svgs = [s for s in svgs if 'role="img"' in s]
        assert len(svgs) == charts, url
        for svg in svgs:
            assert re.search(r"<title id=\"[\w-]+-title\">[^<]+</title>", svg)
            assert re.search(r"<desc id=\"[\w-]+-desc\">[^<]+</desc>", svg)
            assert "style=" not in svg


def test_one_province_page(client, login, make_user, world):
    login(make_user(role="admin", locale="en"))
    html = client.get("/regions/nghe-an").get_data(as_text=True)
    steps = html[html.index('id="pipeline-table"'):]
    counts = dict(re.findall(r'<tr data-step="(\w+)">.*?data-col="count">(\d+)<', steps, re.S))
    assert counts == {"registrations": "5", "available": "2", "shortlists": "4",
                      "selections": "3", "departures": "2", "deployments": "1"}
    assert re.search(r'id="conversion">20.0%<', html)
    assert re.search(r'id="median-days">80<', html)
    assert re.search(r'id="median-paid">¥325,000<', html)
    assert re.search(r'data-col="average_paid">¥325,000<', html)
    assert re.search(r'data-col="fees">¥150,000<', html)
    assert re.search(r'data-col="costs">¥500,000<', html)
    assert re.search(r'id="flag-count">3<', html)
    assert re.search(r'id="grievances-open">2<', html)
    assert 'id="grievances-overdue">1 overdue<' in html
    assert 'data-key="ha-tinh"' not in html
    chart = html[html.index('id="funnel-chart"'):]
    assert re.search(r'data-key="selections">.*?3 · 75.0%<', chart, re.S)
    assert client.get("/regions/atlantis").status_code == 404


def test_exposure_ratio_from_the_newest_stored_report(client, login, make_user, world):
    report = {"days": 90, "threshold": 0.8, "rows": {"province": [
        {"group": "nghe-an", "ratio": 0.5, "flagged": True, "too_few": False},
        {"group": "ha-tinh", "ratio": 1.25, "flagged": False, "too_few": False}]}}
    older = dict(report, rows={"province": [{"group": "nghe-an", "ratio": 2.0,
                                             "flagged": False, "too_few": False}]})
    db.session.add_all([
        BackgroundTask(kind="fairness", status="finished", params={"days": 90}, result=older,
                       finished_at=datetime(2026, 11, 1)),
        BackgroundTask(kind="fairness", status="finished", params={"days": 90}, result=report,
                       finished_at=datetime(2026, 12, 1)),
        BackgroundTask(kind="fairness", status="running", params={"days": 30})])
    db.session.commit()
    login(make_user(role="department", province="nghe-an", locale="en"))
    html = client.get("/regions/nghe-an").get_data(as_text=True)
    assert re.search(r'id="exposure">0.50 <span class="badge badge-missing">below the '
                     r'threshold</span>', html)
    assert "the last 90 days" in html
    assert "1.25" not in html  # another province's ratio
    assert 'id="fairness-link"' not in html  # the report's page is the admin's
    login(make_user(role="admin", locale="vi"))
    html = client.get("/regions/").get_data(as_text=True)
    assert _cells(_row(html, "fees-table", "ha-tinh"), "data-col")["exposure"] == "1,25"


def test_department_sees_its_own_province_only(client, login, make_user, world):
    login(make_user(role="department", province="nghe-an", locale="en"))
    response = client.get("/regions/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/regions/nghe-an")
    html = client.get("/regions/nghe-an").get_data(as_text=True)
    assert re.search(r'id="count-registrations">5<', html)
    assert 'id="all-provinces"' not in html
    assert client.get("/regions/ha-tinh").status_code == 404
    assert client.get("/regions/export.csv?province=ha-tinh").status_code == 404
    rows = list(csv.DictReader(io.StringIO(
        client.get("/regions/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["province"] for r in rows] == ["nghe-an"]
    nav = client.get("/").get_data(as_text=True)
    assert 'id="nav-regions"' in nav


@pytest.mark.parametrize("role", ["employer", "agency", "worker"])
def test_other_roles_are_refused(client, login, make_user, make_trainee, role):
    from tests.workers import make_worker

    login(make_worker(make_trainee()) if role == "worker" else make_user(role=role))
    for url in ("/regions/", "/regions/nghe-an", "/regions/export.csv"):
        assert client.get(url).status_code == 403, url
    assert 'id="nav-regions"' not in client.get("/").get_data(as_text=True)


def test_csv_has_the_same_figures(client, login, make_user, world):
    login(make_user(role="admin", locale="vi"))
    response = client.get("/regions/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert re.match(r'attachment; filename="regions-all-\d{8}\.csv"',
                    response.headers["Content-Disposition"])
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = {r["province"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert len(rows) == 35  # the 34 provinces and the total
    na = rows["nghe-an"]
    assert na["province_name"] == PROVINCES["nghe-an"].vi
    assert {k: na[k] for k in ("registered", "available", "shortlisted", "selected",
                               "departed", "deployed")} == {
        "registered": "5", "available": "2", "shortlisted": "4", "selected": "3",
        "departed": "2", "deployed": "1"}
    assert (na["available_share"], na["shortlisted_rate"], na["selected_rate"],
            na["departed_rate"], na["deployed_rate"], na["conversion"]) == (
        "0.4", "0.8", "0.75", "0.6667", "0.5", "0.2")
    assert na["median_days_registration_to_departure"] == "80"
    assert (na["workers_who_paid"], na["worker_paid_median_jpy"],
            na["worker_paid_total_jpy"], na["survey_average_jpy"]) == (
        "2", "325000", "650000", "688143")
    assert (na["flags"], na["flags_brokerage_charged"], na["flags_deposit_charged"],
            na["flags_waiting_too_long"], na["flags_refund_due"]) == ("3", "1", "1", "1", "0")
    assert (na["grievances_open"], na["grievances_overdue"]) == ("2", "1")
    assert na["exposure_ratio"] == ""
    total = rows["all"]
    assert (total["registered"], total["worker_paid_median_jpy"],
            total["median_days_registration_to_departure"]) == ("7", "400000", "80")
    assert rows["ca-mau"]["conversion"] == ""


def test_csv_cells_never_start_a_formula(app):
    """Every cell goes through ``formulas.neutralise`` (the names are ours, so the writer
    itself is checked)."""
    from matching.web.dispatch.queries import FunnelRow
    from matching.web.regions.queries import Region
    from matching.web.regions.routes import csv_row

    with app.test_request_context():
        row = csv_row(Region("=cmd|' /C calc'!A0", FunnelRow("=x")), 688143, "en")
    assert row[0] == "'=cmd|' /C calc'!A0"


def test_query_count_does_not_grow(client, login, make_user, world, build, count_queries):
    admin = make_user(role="admin", locale="en")
    department = make_user(role="department", province="nghe-an", locale="en")
    urls = {admin: ("/regions/", "/regions/nghe-an", "/regions/export.csv"),
            department: ("/regions/nghe-an", "/regions/export.csv")}

    def counts():
        out = {}
        for user, paths in urls.items():
            login(user)
            for path in paths:
                db.session.expire_all()  # each request starts from the database
                with count_queries() as n:
                    assert client.get(path).status_code == 200
                out[(user.id, path)] = n[0]
        return out

    before = counts()
    for province in ("nghe-an", "lao-cai", "hue", "ca-mau"):
        for stage in ("deployed", "departed"):
            d = build["dispatch"](province, stage, events=(("departed", date(2026, 5, 1)),))
            build["pay"](d, "brokerage", 10_000)
            build["pay"](d, "service_fee", 20_000)
            build["grievance"](d, "open", days_ago=9)
        build["trainee"](province, decision="shortlisted")
    after = counts()
    assert after == before
    assert max(before.values()) <= 20


@pytest.mark.parametrize("result", [{"rows": "other"}, {"days": "many"}, {"rows": {
    "province": ["nghe-an", {"group": "nghe-an", "ratio": "high"}]}}])
def test_a_stored_report_of_another_shape_is_not_computed(client, login, make_user, result):
    db.session.add(BackgroundTask(kind="fairness", status="finished", params={},
                                  result=result, finished_at=datetime(2026, 12, 1)))
    db.session.commit()
    login(make_user(role="admin", locale="en"))
    response = client.get("/regions/nghe-an")
    assert response.status_code == 200
    assert re.search(r'id="exposure"><span class="muted">—</span>', response.get_data(
        as_text=True))
