"""Role × route: every route of the app, for every role (DESIGN §7).

Anonymous users are sent to the log-in page; a role that may never use a page gets 403; an
object outside the user's scope (another province's trainee) answers 404, so IDs reveal
nothing. A test below fails when a route is added without a row here.
"""

from datetime import date

import pytest

from matching.extensions import db
from matching.models import Dispatch, JobOrder, LanguageCertificate
from matching.models.background import BackgroundTask
from matching.references import candidate_ref

ROLES = ("anonymous", "admin", "department", "other_department", "employer", "agency",
         "worker")

OK = 200
REDIRECT = 302
MOVED = 301
FORBIDDEN = 403
NOT_FOUND = 404
LOGIN = "login"  # a 302 to the log-in page


def _everyone(status):
    return {role: status for role in ROLES if role != "anonymous"} | {"anonymous": LOGIN}


def _registry(own=OK, other=OK):
    """Registry pages: admin and the trainee's department; other roles are refused."""
    return {"anonymous": LOGIN, "admin": own, "department": own, "other_department": other,
            "employer": FORBIDDEN, "agency": FORBIDDEN, "worker": FORBIDDEN}


def _admin_only(status=OK):
    return {"anonymous": LOGIN, "admin": status, "department": FORBIDDEN,
            "other_department": FORBIDDEN, "employer": FORBIDDEN, "agency": FORBIDDEN,
            "worker": FORBIDDEN}


def _jobs(own=OK, agency=OK):
    """Job-order pages: the employer's own job order and admin; an agency reads the job
    orders assigned to it; departments are refused."""
    return {"anonymous": LOGIN, "admin": own, "department": FORBIDDEN,
            "other_department": FORBIDDEN, "employer": own, "agency": agency,
            "worker": FORBIDDEN}


def _dispatch(status=OK):
    """Reading a dispatch: its agency, admin, its trainee's department and its job order's
    employer; another province's department → 404."""
    return {"anonymous": LOGIN, "admin": status, "agency": status, "department": status,
            "other_department": NOT_FOUND, "employer": status, "worker": FORBIDDEN}


def _foreign(admin=OK, agency=NOT_FOUND, readers=NOT_FOUND):
    """Another agency's dispatch, of another employer and province: admin only."""
    return {"anonymous": LOGIN, "admin": admin, "agency": agency, "department": readers,
            "other_department": readers, "employer": readers, "worker": FORBIDDEN}


def _fee_readers(status=OK, other=OK):
    """The fee ledger's readers: admin, the agency, the department (another province's
    sees its own scope: an empty list, or 404 for this dispatch); never the employer."""
    return {"anonymous": LOGIN, "admin": status, "agency": status, "department": status,
            "other_department": other, "employer": FORBIDDEN, "worker": FORBIDDEN}


def _movers(status=OK):
    return {"anonymous": LOGIN, "admin": status, "department": FORBIDDEN,
            "other_department": FORBIDDEN, "employer": FORBIDDEN, "agency": status,
            "worker": FORBIDDEN}


def _worker(status=OK):
    """The worker's own pages: the worker only; nobody else has one (403)."""
    return _admin_only(FORBIDDEN) | {"worker": status}


def _grievance(status=OK, agency=OK, other=NOT_FOUND):
    """A grievance of the department's worker, who let the agency read it: admin and the
    department handle it, the agency reads it; employers and workers never reach these
    pages (the worker reads their own on their page)."""
    return {"anonymous": LOGIN, "admin": status, "department": status,
            "other_department": other, "agency": agency, "employer": FORBIDDEN,
            "worker": FORBIDDEN}


def _task(status=OK):
    """A background task started by the department: its owner and admins only."""
    return {role: NOT_FOUND for role in ROLES} | {"anonymous": LOGIN, "admin": status,
                                                   "department": status}


# (endpoint, method, path template, expected status per role)
MATRIX = [
    ("auth.login", "GET", "/auth/login", {r: REDIRECT for r in ROLES} | {"anonymous": OK}),
    ("auth.logout", "POST", "/auth/logout", _everyone(REDIRECT)),
    ("auth.logout_everywhere", "POST", "/auth/logout-everywhere", _everyone(REDIRECT)),
    ("auth.password", "GET", "/auth/password", _everyone(OK)),
    ("auth.account", "GET", "/auth/account", _everyone(OK)),
    # API tokens: everyone their own. An empty form is shown again (200); a token id that
    # is not one's own is 404.
    ("auth.tokens", "GET", "/auth/tokens", _everyone(OK)),
    ("auth.tokens", "POST", "/auth/tokens", _everyone(OK)),
    ("auth.revoke", "POST", "/auth/tokens/{trainee}/revoke", _everyone(NOT_FOUND)),
    # The API's human-readable docs: public, like its OpenAPI document.
    ("api_docs.docs", "GET", "/api/v1/docs", {r: OK for r in ROLES}),
    # An empty form keeps the browser's language and the organisation's zone (302).
    ("auth.account", "POST", "/auth/account", _everyone(REDIRECT)),
    # A worker has only their own page: "/" sends them there.
    ("main.index", "GET", "/", _everyone(OK) | {"worker": REDIRECT}),
    # Probes for the load balancer: no log-in, no personal data.
    ("health.healthz", "GET", "/healthz", {r: OK for r in ROLES}),
    ("health.readyz", "GET", "/readyz", {r: OK for r in ROLES}),
    ("main.set_language", "POST", "/lang", {r: REDIRECT for r in ROLES}),
    # Everyone, logged in or not, is sent to the SVG icon in static/ (301).
    ("main.favicon", "GET", "/favicon.ico", {r: MOVED for r in ROLES}),
    ("trainees.index", "GET", "/trainees/", _registry()),
    ("trainees.create", "GET", "/trainees/new", _registry()),
    ("trainees.export", "GET", "/trainees/export.csv", _registry()),
    ("trainees.view", "GET", "/trainees/{trainee}", _registry(other=NOT_FOUND)),
    ("trainees.edit", "GET", "/trainees/{trainee}/edit", _registry(other=NOT_FOUND)),
    ("trainees.rirekisho", "GET", "/trainees/{trainee}/rirekisho.pdf",
     _registry(other=NOT_FOUND)),
    # An empty certificate form is shown again with its errors (200), never saved.
    ("trainees.add_certificate", "POST", "/trainees/{trainee}/certificates",
     _registry(own=OK, other=NOT_FOUND)),
    ("trainees.delete_certificate", "POST", "/trainees/{trainee}/certificates/{cert}/delete",
     _registry(own=REDIRECT, other=NOT_FOUND)),
    ("trainees.import_upload", "GET", "/trainees/import", _registry()),
    ("trainees.import_confirm", "POST", "/trainees/import/confirm", _registry(own=REDIRECT,
                                                                               other=REDIRECT)),
    ("trainees.import_template", "GET", "/trainees/import/template.csv", _registry()),
    ("trainees.import_template_xlsx", "GET", "/trainees/import/template.xlsx", _registry()),
    ("jobs.index", "GET", "/jobs/", _jobs()),
    ("jobs.create", "GET", "/jobs/new", _jobs(agency=FORBIDDEN)),
    ("jobs.view", "GET", "/jobs/{job}", _jobs()),
    ("jobs.edit", "GET", "/jobs/{job}/edit", _jobs(agency=FORBIDDEN)),
    # Without a status chosen the change is refused with a message on the job's page.
    ("jobs.set_status", "POST", "/jobs/{job}/status", _jobs(own=REDIRECT, agency=FORBIDDEN)),
    ("jobs.import_upload", "GET", "/jobs/import", _jobs(agency=FORBIDDEN)),
    ("jobs.import_confirm", "POST", "/jobs/import/confirm",
     _jobs(own=REDIRECT, agency=FORBIDDEN)),
    ("jobs.import_template", "GET", "/jobs/import/template.csv", _jobs(agency=FORBIDDEN)),
    ("jobs.import_template_xlsx", "GET", "/jobs/import/template.xlsx",
     _jobs(agency=FORBIDDEN)),
    # Employer review: the job's employer and admin; the agency reading the job order gets
    # 404 (not its scope), departments 403. The trainee is in the pool but not shortlisted:
    # the employer sees the anonymised detail, not the résumé; admin sees everything.
    ("jobs.candidates", "GET", "/jobs/{job}/candidates", _jobs(agency=NOT_FOUND)),
    ("jobs.profile", "GET", "/jobs/{job}/candidates/{candidate}", _jobs(agency=NOT_FOUND)),
    ("jobs.rirekisho", "GET", "/jobs/{job}/candidates/{candidate}/rirekisho.pdf",
     _jobs(agency=NOT_FOUND) | {"employer": NOT_FOUND}),
    # Without a decision chosen the click is refused with a message on the candidates page.
    ("jobs.decide", "POST", "/jobs/{job}/candidates/{candidate}/decision",
     _jobs(own=REDIRECT, agency=NOT_FOUND)),
    ("jobs.decisions", "GET", "/jobs/{job}/decisions", _jobs()),
    # Dispatches: departments and employers are sent from the board to their own views.
    ("dispatch.board", "GET", "/dispatch/", _movers() | {
        "department": REDIRECT, "other_department": REDIRECT, "employer": REDIRECT}),
    ("dispatch.view", "GET", "/dispatch/{dispatch}", _dispatch()),
    ("dispatch.view", "GET", "/dispatch/{foreign_dispatch}", _foreign()),
    # Empty forms: a move or date change is refused with a message (302); the document
    # form is shown again with its errors (200). Readers may never write (403).
    ("dispatch.move", "POST", "/dispatch/{dispatch}/move", _movers(REDIRECT)),
    ("dispatch.move", "POST", "/dispatch/{foreign_dispatch}/move",
     _movers(REDIRECT) | {"agency": NOT_FOUND}),
    ("dispatch.edit", "POST", "/dispatch/{dispatch}/edit", _movers(REDIRECT)),
    ("dispatch.edit", "POST", "/dispatch/{foreign_dispatch}/edit",
     _movers(REDIRECT) | {"agency": NOT_FOUND}),
    ("dispatch.add_document", "POST", "/dispatch/{dispatch}/documents", _movers()),
    ("dispatch.add_document", "POST", "/dispatch/{foreign_dispatch}/documents",
     _movers() | {"agency": NOT_FOUND}),
    ("dispatch.document_file", "GET", "/dispatch/{dispatch}/documents/{document}/file",
     _dispatch()),
    # A document read through a dispatch it does not belong to: 404 even for admin.
    ("dispatch.document_file", "GET",
     "/dispatch/{foreign_dispatch}/documents/{document}/file", _foreign(admin=NOT_FOUND)),
    # Replace and withdraw: who may record the document (a dispatch's paper: its movers;
    # the department reads it but may not change it). A contract needs no field: the empty
    # replacement is recorded (302); a withdrawal without its reason is shown again (200).
    ("dispatch.replace_document", "POST", "/dispatch/{dispatch}/documents/{document}/replace",
     _dispatch(FORBIDDEN) | {"admin": REDIRECT, "agency": REDIRECT}),
    ("dispatch.replace_document", "POST",
     "/dispatch/{foreign_dispatch}/documents/{document}/replace", _foreign(admin=NOT_FOUND)),
    ("dispatch.withdraw_document", "POST",
     "/dispatch/{dispatch}/documents/{document}/withdraw",
     _dispatch(FORBIDDEN) | {"admin": OK, "agency": OK}),
    ("dispatch.withdraw_document", "POST",
     "/dispatch/{foreign_dispatch}/documents/{document}/withdraw", _foreign(admin=NOT_FOUND)),
    ("dispatch.import_upload", "GET", "/dispatch/import", _movers()),
    ("dispatch.import_confirm", "POST", "/dispatch/import/confirm", _movers(REDIRECT)),
    ("dispatch.import_template", "GET", "/dispatch/import/template.csv", _movers()),
    ("dispatch.import_template_xlsx", "GET", "/dispatch/import/template.xlsx", _movers()),
    ("dispatch.province", "GET", "/dispatch/province", _registry() | {
        "employer": FORBIDDEN, "agency": FORBIDDEN}),
    ("dispatch.employer", "GET", "/dispatch/workers", _admin_only() | {"employer": OK}),
    ("dispatch.dashboard", "GET", "/dispatch/dashboard", _admin_only()),
    # The province dashboard (issue 13 §5): the admin every province, a department its own
    # (its /regions/ sends it there); another province's, or an unknown code: 404.
    ("regions.index", "GET", "/regions/", _registry(OK, REDIRECT) | {"department": REDIRECT}),
    ("regions.province", "GET", "/regions/nghe-an", _registry(OK, NOT_FOUND)),
    ("regions.province", "GET", "/regions/atlantis", _registry(NOT_FOUND, NOT_FOUND)),
    ("regions.export", "GET", "/regions/export.csv", _registry()),
    ("regions.export", "GET", "/regions/export.csv?province=nghe-an", _registry(OK, NOT_FOUND)),
    # The fee ledger (issue 13 §1–2): its agency (and admin) records, its readers read; the
    # employer sees only the totals on the dispatch page. An empty form goes back to the
    # dispatch's page with its problems (302), as the contract of a dispatch at "selected".
    ("fees.index", "GET", "/fees/", _fee_readers()),
    ("fees.add_charge", "POST", "/fees/dispatch/{dispatch}/charges", _movers(REDIRECT)),
    ("fees.add_charge", "POST", "/fees/dispatch/{foreign_dispatch}/charges",
     _foreign(admin=REDIRECT, readers=FORBIDDEN)),
    ("fees.contract", "POST", "/fees/dispatch/{dispatch}/contract", _movers(REDIRECT)),
    ("fees.contract", "POST", "/fees/dispatch/{foreign_dispatch}/contract",
     _foreign(admin=REDIRECT, readers=FORBIDDEN)),
    ("fees.delete_charge", "POST", "/fees/dispatch/{dispatch}/charges/{charge}/delete",
     _movers(REDIRECT)),
    ("fees.delete_charge", "POST",
     "/fees/dispatch/{foreign_dispatch}/charges/{charge}/delete",
     _foreign(admin=NOT_FOUND, readers=FORBIDDEN)),
    ("fees.receipt", "GET", "/fees/dispatch/{dispatch}/charges/{charge}/receipt",
     _fee_readers(other=NOT_FOUND)),
    ("fees.receipt", "GET", "/fees/dispatch/{foreign_dispatch}/charges/{charge}/receipt",
     _fee_readers(NOT_FOUND, other=NOT_FOUND)),
    ("fees.import_upload", "GET", "/fees/import", _movers()),
    ("fees.import_confirm", "POST", "/fees/import/confirm", _movers(REDIRECT)),
    ("fees.import_template", "GET", "/fees/import/template.csv", _movers()),
    ("fees.import_template_xlsx", "GET", "/fees/import/template.xlsx", _movers()),
    ("fees.rates", "GET", "/fees/rates", _admin_only()),
    ("admin.index", "GET", "/admin/", _admin_only(REDIRECT)),
    ("admin.organisations", "GET", "/admin/organisations", _admin_only()),
    ("admin.organisation_new", "GET", "/admin/organisations/new", _admin_only()),
    ("admin.organisation_edit", "GET", "/admin/organisations/{org}/edit", _admin_only()),
    ("admin.users", "GET", "/admin/users", _admin_only()),
    ("admin.user_new", "GET", "/admin/users/new", _admin_only()),
    ("admin.user_edit", "GET", "/admin/users/{user}/edit", _admin_only()),
    ("admin.fairness", "GET", "/admin/fairness", _admin_only()),
    # Computing the report starts a background task and leads to its page.
    ("admin.fairness", "POST", "/admin/fairness", _admin_only(REDIRECT)),
    ("admin.model", "GET", "/admin/model", _admin_only()),
    ("admin.model_train", "POST", "/admin/model/train", _admin_only(REDIRECT)),
    ("admin.skills", "GET", "/admin/skills", _admin_only()),
    ("admin.skill_map", "POST", "/admin/skills/map", _admin_only(REDIRECT)),
    # Background tasks: everyone lists their own; a task's page is its owner's (the
    # department's here) and every admin's, 404 for anyone else. A finished task cannot be
    # retried: its owner is sent back to its page with a message (302).
    ("tasks.index", "GET", "/tasks/", _everyone(OK)),
    ("tasks.view", "GET", "/tasks/{task}", _task(OK)),
    ("tasks.retry", "POST", "/tasks/{task}/retry", _task(REDIRECT)),
    # Workers (issue 13 §3): the department's account page and its buttons, the link.
    ("workers.account", "GET", "/trainees/{trainee}/account", _registry(other=NOT_FOUND)),
    ("workers.invite", "POST", "/trainees/{trainee}/account/invite",
     _registry(own=REDIRECT, other=NOT_FOUND)),
    ("workers.cancel", "POST", "/trainees/{trainee}/account/cancel",
     _registry(own=REDIRECT, other=NOT_FOUND)),
    ("workers.revoke", "POST", "/trainees/{trainee}/account/revoke",
     _registry(own=REDIRECT, other=NOT_FOUND)),
    # Without a valid token the link opens nothing, for anyone.
    ("workers.accept", "GET", "/welcome", {r: NOT_FOUND for r in ROLES}),
    ("worker.home", "GET", "/me/", _worker()),
    # The matrix worker is not at work yet: the wage is refused with a message (302).
    ("worker.report_wage", "POST", "/me/wages", _worker(REDIRECT)),
    ("worker.document_file", "GET", "/me/documents/{document}", _worker()),
    ("worker.document_file", "GET", "/me/documents/{other_document}", _worker(NOT_FOUND)),
    ("worker.receipt", "GET", "/me/charges/{charge}/receipt", _worker()),
    ("worker.receipt", "GET", "/me/charges/{foreign_charge}/receipt", _worker(NOT_FOUND)),
    ("worker.new_grievance", "GET", "/me/grievances/new", _worker()),
    ("worker.correction", "GET", "/me/correction", _worker()),
    ("worker.grievance", "GET", "/me/grievances/{grievance}", _worker()),
    ("worker.grievance", "GET", "/me/grievances/{foreign_grievance}", _worker(NOT_FOUND)),
    ("worker.grievance_attachment", "GET", "/me/grievances/{grievance}/attachment",
     _worker()),
    ("worker.grievance_attachment", "GET", "/me/grievances/{foreign_grievance}/attachment",
     _worker(NOT_FOUND)),
    # Grievances (issue 13 §4).
    ("grievances.index", "GET", "/grievances/", _grievance(other=OK)),
    ("grievances.view", "GET", "/grievances/{grievance}", _grievance()),
    ("grievances.view", "GET", "/grievances/{foreign_grievance}",
     _grievance(NOT_FOUND, agency=NOT_FOUND) | {"admin": OK}),
    # An empty answer is shown again with its errors (200); the agency only reads.
    ("grievances.transition", "POST", "/grievances/{grievance}/transition",
     _grievance(agency=FORBIDDEN)),
    ("grievances.transition", "POST", "/grievances/{foreign_grievance}/transition",
     _grievance(NOT_FOUND, agency=FORBIDDEN) | {"admin": OK}),
    ("grievances.attachment", "GET", "/grievances/{grievance}/attachment", _grievance()),
    ("grievances.file_for", "GET", "/grievances/new/{trainee}",
     _grievance(agency=FORBIDDEN)),
]


@pytest.fixture
def world(make_user, make_trainee, make_org):
    department = make_user(role="department", province="nghe-an")
    users = {
        "admin": make_user(role="admin"),
        "department": department,
        "other_department": make_user(role="department", province="thanh-hoa"),
        "employer": make_user(role="employer"),
        "agency": make_user(role="agency"),
    }
    trainee = make_trainee(province="nghe-an")
    cert = LanguageCertificate(trainee=trainee, language="ja", test="JLPT", level="N4",
                               cefr_rank=2, issued_on=date(2025, 7, 1))
    db.session.add(cert)
    # The employer's job order, assigned to the agency (which may read it).
    job = JobOrder(external_id="JO-MATRIX-1", employer_id=users["employer"].organisation_id,
                   agency_id=users["agency"].organisation_id, title="Food line worker",
                   field="food_manufacturing", headcount=2, visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    dispatch, foreign, document = _dispatches(job, users, make_org, make_trainee)
    charge, foreign_charge = _charge(dispatch), _charge(foreign)
    users["worker"], grievances, other_document = _workers(dispatch, foreign)
    ids = {"trainee": trainee.id, "cert": cert.id, "org": department.organisation_id,
           "user": department.id, "job": job.id, "dispatch": dispatch.id,
           "foreign_dispatch": foreign.id, "document": document.id,
           "foreign_job": foreign.job_order_id,
           "candidate": candidate_ref(job.id, trainee.id), "charge": charge.id,
           "foreign_charge": foreign_charge.id,
           "grievance": grievances[0].id, "foreign_grievance": grievances[1].id,
           "other_document": other_document.id}
    ids["task"] = _finished_task(department)
    return users, ids


def _finished_task(owner) -> str:
    """A background task the department started, finished (``tasks.*`` rows)."""
    task = BackgroundTask(kind="fairness", user_id=owner.id, status="finished",
                          params={"days": 90})
    db.session.add(task)
    db.session.commit()
    return task.id


def _charge(dispatch):
    """A payment of the worker on the agency's dispatch, with its receipt's file."""
    import io

    from werkzeug.datastructures import FileStorage

    from matching.operations.fees import record_charge

    charge = record_charge(None, dispatch, kind="medical", amount=12000, currency="JPY",
                           paid_on=date(2026, 1, 5), payer="worker", upload=FileStorage(
                               io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="receipt.pdf"))
    db.session.commit()
    return charge


def _dispatches(job, users, make_org, make_trainee):
    """A worker of the department's province selected on the employer's job order, handled
    by the agency (with a stored file); and a foreign dispatch (other agency, employer and
    province). Another trainee than the candidate above: a dispatch leaves the pool."""
    import io

    from werkzeug.datastructures import FileStorage

    from matching.operations.dispatch import add_document

    ours = Dispatch(job_order_id=job.id, trainee_id=make_trainee(province="nghe-an").id,
                    agency_id=users["agency"].organisation_id)
    other_agency, other_employer = make_org(kind="agency"), make_org(kind="employer")
    other_job = JobOrder(external_id="JO-MATRIX-2", employer_id=other_employer.id,
                         agency_id=other_agency.id, title="Welder", field="manufacturing")
    db.session.add_all([ours, other_job])
    db.session.flush()
    foreign = Dispatch(job_order_id=other_job.id, agency_id=other_agency.id,
                       trainee_id=make_trainee(province="ha-tinh").id)
    db.session.add(foreign)
    db.session.commit()
    document = add_document(None, dispatch=ours, kind="contract", number="HD-1",
                            issued_on=None, expires_on=None, upload=FileStorage(
                                io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="contract.pdf"))
    return ours, foreign, document


def _workers(ours, foreign):
    """The worker of the department's dispatch, with a grievance the agency may read (and
    an attachment); the foreign dispatch's worker, with a grievance and a document."""
    import io

    from werkzeug.datastructures import FileStorage

    from matching.operations.dispatch import add_document
    from matching.operations.grievances import file_grievance
    from tests.workers import make_worker

    worker, stranger = make_worker(ours.trainee), make_worker(foreign.trainee)
    own = file_grievance(worker, ours.trainee, category="wages", description="Trả thiếu.",
                         agency_may_see=True, upload=FileStorage(
                             io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="payslip.pdf"))
    theirs = file_grievance(stranger, foreign.trainee, category="other",
                            description="Của người khác.", agency_may_see=True)
    document = add_document(None, dispatch=foreign, kind="passport", number="P-9",
                            issued_on=None, expires_on=date(2035, 1, 1))
    db.session.commit()
    return worker, (own, theirs), document


def test_every_route_is_in_the_matrix(app):
    covered = {(endpoint, method) for endpoint, method, _, _ in MATRIX}
    covered |= {(endpoint, method) for endpoint, method, _, _, _ in API_MATRIX}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (rule.endpoint, method) not in covered and not (
                method == "POST" and (rule.endpoint, "GET") in covered
            ):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "path", "expected"), MATRIX,
                         ids=[f"{m} {e}" for e, m, _, _ in MATRIX])
def test_role_route(client, login, world, role, endpoint, method, path, expected):
    users, ids = world
    if role != "anonymous":
        login(users[role])
    url = path.format(**ids)
    data = {"lang": "en", "next": "/"} if endpoint == "main.set_language" else {}
    response = client.open(url, method=method, data=data)
    # A role a row does not name (a role added later) is refused, as in the API matrix.
    want = expected.get(role, FORBIDDEN)
    if want == LOGIN:
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == want, response.get_data(as_text=True)[:300]


# -- the JSON API (issue 12): a token per role instead of a session --------------------------

CREATED = 201
UNAUTHORIZED = 401
INVALID = 422
PRECONDITION_REQUIRED = 428


def _api(admin=OK, department=FORBIDDEN, other_department=None, employer=FORBIDDEN,
         agency=FORBIDDEN):
    """An API route: no token → 401; a role that may never use it → 403; outside the
    token's scope → 404. A role added later (not named here) must be refused (403)."""
    return {"anonymous": UNAUTHORIZED, "admin": admin, "department": department,
            "other_department": department if other_department is None else other_department,
            "employer": employer, "agency": agency}


def _api_registry(own=OK, other=None):
    return _api(admin=own, department=own, other_department=own if other is None else other)


def _api_jobs(own=OK, agency=OK):
    return _api(admin=own, employer=own, agency=agency)


def _api_dispatch(status=OK, other=None, admin=None):
    """Dispatch readers: admin, its agency, its worker's department, its employer."""
    return _api(admin=status if admin is None else admin, department=status,
                other_department=status if other is None else other, employer=status,
                agency=status)


def _api_movers(status=OK):
    return _api(admin=status, agency=status)


# (endpoint, method, path, JSON body or None, expected status per role). Empty bodies are
# refused as invalid (422) once access has let them through; a change without If-Match is
# 428 once the object was found in scope.
API_MATRIX = [
    ("api_docs.openapi_json", "GET", "/api/v1/openapi.json", None, {r: OK for r in ROLES}),
    ("api_trainees.index", "GET", "/api/v1/trainees", None, _api_registry()),
    ("api_trainees.create", "POST", "/api/v1/trainees", {}, _api_registry(INVALID)),
    ("api_trainees.item", "GET", "/api/v1/trainees/{trainee}", None,
     _api_registry(other=NOT_FOUND)),
    ("api_trainees.item", "PATCH", "/api/v1/trainees/{trainee}", {},
     _api_registry(PRECONDITION_REQUIRED, other=NOT_FOUND)),
    ("api_trainees.bulk", "POST", "/api/v1/trainees/bulk", {}, _api_registry(INVALID)),
    ("api_job_orders.index", "GET", "/api/v1/job-orders", None, _api_jobs()),
    ("api_job_orders.create", "POST", "/api/v1/job-orders", {},
     _api_jobs(INVALID, agency=FORBIDDEN)),
    ("api_job_orders.item", "GET", "/api/v1/job-orders/{job}", None, _api_jobs()),
    ("api_job_orders.item", "GET", "/api/v1/job-orders/{foreign_job}", None,
     _api_jobs(agency=NOT_FOUND) | {"employer": NOT_FOUND}),
    ("api_job_orders.item", "PATCH", "/api/v1/job-orders/{job}", {},
     _api_jobs(PRECONDITION_REQUIRED, agency=FORBIDDEN)),
    ("api_job_orders.item", "PATCH", "/api/v1/job-orders/{foreign_job}", {},
     _api_jobs(PRECONDITION_REQUIRED, agency=FORBIDDEN) | {"employer": NOT_FOUND}),
    ("api_job_orders.set_status", "POST", "/api/v1/job-orders/{job}/status", {},
     _api_jobs(INVALID, agency=FORBIDDEN)),
    ("api_job_orders.set_status", "POST", "/api/v1/job-orders/{foreign_job}/status",
     {"status": "closed"}, _api_jobs(OK, agency=FORBIDDEN) | {"employer": NOT_FOUND}),
    ("api_model.current", "GET", "/api/v1/model", None, _api()),
    # Candidates: the job order's employer and admin; the agency reads the job order but
    # reviews nobody (404, as on the site); departments never (403).
    ("api_candidates.index", "GET", "/api/v1/job-orders/{job}/candidates", None,
     _api_jobs(agency=NOT_FOUND)),
    ("api_candidates.index", "GET", "/api/v1/job-orders/{foreign_job}/candidates", None,
     _api_jobs(agency=NOT_FOUND) | {"employer": NOT_FOUND}),
    ("api_candidates.item", "GET", "/api/v1/job-orders/{job}/candidates/{candidate}", None,
     _api_jobs(agency=NOT_FOUND)),
    # A reference names a candidate of its own job order only: nobody on another.
    ("api_candidates.item", "GET", "/api/v1/job-orders/{foreign_job}/candidates/{candidate}",
     None, _api_jobs(NOT_FOUND, agency=NOT_FOUND)),
    ("api_candidates.decide", "POST",
     "/api/v1/job-orders/{job}/candidates/{candidate}/decisions", {"decision": "shortlisted"},
     _api_jobs(CREATED, agency=NOT_FOUND)),
    ("api_candidates.decide", "POST",
     "/api/v1/job-orders/{foreign_job}/candidates/{candidate}/decisions",
     {"decision": "shortlisted"}, _api_jobs(NOT_FOUND, agency=NOT_FOUND)),
    # Dispatches: read by those who follow them on the site, moved by the agency and admin.
    ("api_dispatches.index", "GET", "/api/v1/dispatches", None, _api_dispatch()),
    ("api_dispatches.item", "GET", "/api/v1/dispatches/{dispatch}", None,
     _api_dispatch(other=NOT_FOUND)),
    ("api_dispatches.item", "GET", "/api/v1/dispatches/{foreign_dispatch}", None,
     _api_dispatch(NOT_FOUND, admin=OK)),
    ("api_dispatches.move", "POST", "/api/v1/dispatches/{dispatch}/moves",
     {"to_stage": "contracted"}, _api_movers(PRECONDITION_REQUIRED)),
    ("api_dispatches.move", "POST", "/api/v1/dispatches/{foreign_dispatch}/moves",
     {"to_stage": "contracted"}, _api_movers(PRECONDITION_REQUIRED) | {"agency": NOT_FOUND}),
    ("api_dispatches.bulk_moves", "POST", "/api/v1/dispatches/moves", {},
     _api_movers(INVALID)),
    # Documents: the movers record them (a JSON body is no multipart form: 422); whoever
    # sees the dispatch downloads its files.
    ("api_documents.upload", "POST", "/api/v1/dispatches/{dispatch}/documents", {},
     _api_movers(INVALID)),
    ("api_documents.file", "GET", "/api/v1/dispatches/{dispatch}/documents/{document}/file",
     None, _api_dispatch(other=NOT_FOUND)),
    ("api_documents.file", "GET",
     "/api/v1/dispatches/{foreign_dispatch}/documents/{document}/file", None,
     _api_dispatch(NOT_FOUND)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "path", "body", "expected"), API_MATRIX,
                         ids=[f"{m} {p}" for _, m, p, _, _ in API_MATRIX])
def test_api_role_route(client, world, role, endpoint, method, path, body, expected):
    from matching.operations.tokens import create_token

    users, ids = world
    headers = {}
    if role != "anonymous":
        _row, token = create_token(users[role], "matrix")
        db.session.commit()
        headers["Authorization"] = f"Bearer {token}"
    response = client.open(path.format(**ids), method=method, json=body, headers=headers)
    assert response.status_code == expected.get(role, FORBIDDEN), response.get_data(
        as_text=True)[:300]
    if response.status_code >= 400:
        assert response.content_type == "application/problem+json"
