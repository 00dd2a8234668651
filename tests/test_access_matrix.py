"""Role × route: every route of the app, for every role (DESIGN §7).

Anonymous users are sent to the log-in page; a role that may never use a page gets 403; an
object outside the user's scope (another province's trainee) answers 404, so IDs reveal
nothing. A test below fails when a route is added without a row here.
"""

from datetime import date

import pytest

from matching.extensions import db
from matching.models import LanguageCertificate

ROLES = ("anonymous", "admin", "department", "other_department", "employer", "agency")

OK = 200
REDIRECT = 302
FORBIDDEN = 403
NOT_FOUND = 404
LOGIN = "login"  # a 302 to the log-in page


def _everyone(status):
    return {role: status for role in ROLES if role != "anonymous"} | {"anonymous": LOGIN}


def _registry(own=OK, other=OK):
    """Registry pages: admin and the trainee's department; other roles are refused."""
    return {"anonymous": LOGIN, "admin": own, "department": own, "other_department": other,
            "employer": FORBIDDEN, "agency": FORBIDDEN}


def _admin_only(status=OK):
    return {"anonymous": LOGIN, "admin": status, "department": FORBIDDEN,
            "other_department": FORBIDDEN, "employer": FORBIDDEN, "agency": FORBIDDEN}


# (endpoint, method, path template, expected status per role)
MATRIX = [
    ("auth.login", "GET", "/auth/login", {r: REDIRECT for r in ROLES} | {"anonymous": OK}),
    ("auth.logout", "POST", "/auth/logout", _everyone(REDIRECT)),
    ("auth.password", "GET", "/auth/password", _everyone(OK)),
    ("main.index", "GET", "/", _everyone(OK)),
    ("main.set_language", "POST", "/lang", {r: REDIRECT for r in ROLES}),
    ("trainees.index", "GET", "/trainees/", _registry()),
    ("trainees.create", "GET", "/trainees/new", _registry()),
    ("trainees.export", "GET", "/trainees/export.csv", _registry()),
    ("trainees.view", "GET", "/trainees/{trainee}", _registry(other=NOT_FOUND)),
    ("trainees.edit", "GET", "/trainees/{trainee}/edit", _registry(other=NOT_FOUND)),
    # An empty certificate form is shown again with its errors (200), never saved.
    ("trainees.add_certificate", "POST", "/trainees/{trainee}/certificates",
     _registry(own=OK, other=NOT_FOUND)),
    ("trainees.delete_certificate", "POST", "/trainees/{trainee}/certificates/{cert}/delete",
     _registry(own=REDIRECT, other=NOT_FOUND)),
    ("trainees.import_upload", "GET", "/trainees/import", _registry()),
    ("trainees.import_confirm", "POST", "/trainees/import/confirm", _registry(own=REDIRECT,
                                                                               other=REDIRECT)),
    ("trainees.import_template", "GET", "/trainees/import/template.csv", _registry()),
    ("admin.index", "GET", "/admin/", _admin_only(REDIRECT)),
    ("admin.organisations", "GET", "/admin/organisations", _admin_only()),
    ("admin.organisation_new", "GET", "/admin/organisations/new", _admin_only()),
    ("admin.organisation_edit", "GET", "/admin/organisations/{org}/edit", _admin_only()),
    ("admin.users", "GET", "/admin/users", _admin_only()),
    ("admin.user_new", "GET", "/admin/users/new", _admin_only()),
    ("admin.user_edit", "GET", "/admin/users/{user}/edit", _admin_only()),
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
    db.session.commit()
    ids = {"trainee": trainee.id, "cert": cert.id, "org": department.organisation_id,
           "user": department.id}
    return users, ids


def test_every_route_is_in_the_matrix(app):
    covered = {(endpoint, method) for endpoint, method, _, _ in MATRIX}
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
    want = expected[role]
    if want == LOGIN:
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == want, response.get_data(as_text=True)[:300]
