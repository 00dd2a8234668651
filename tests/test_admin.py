"""Admin pages: organisations and user accounts (issue item 4)."""

import re

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.models import Organisation, User

ADMIN_GET_URLS = [
    "/admin/",
    "/admin/organisations",
    "/admin/organisations/new",
    "/admin/organisations/{org_id}/edit",
    "/admin/users",
    "/admin/users/new",
    "/admin/users/{user_id}/edit",
]


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English (the source language), whatever the translations say."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", name="Ada Admin")


@pytest.fixture
def as_admin(admin, login, client):
    login(admin)
    return client


def _org(code):
    return db.session.scalar(sa.select(Organisation).where(Organisation.code == code))


def _user(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def _field_error(html: str, field: str) -> str:
    """The text of the error shown next to a field (empty when there is none)."""
    found = re.search(rf'<small id="{field}-errors" class="field-error">(.*?)</small>', html,
                      re.S)
    return found.group(1).strip() if found else ""


# -- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["department", "employer", "agency"])
@pytest.mark.parametrize("url", ADMIN_GET_URLS)
def test_other_roles_are_refused(client, make_user, login, role, url):
    user = make_user(role=role)
    login(user)
    response = client.get(url.format(org_id=user.organisation_id, user_id=user.id))
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["department", "employer", "agency"])
def test_other_roles_cannot_write(client, make_user, login, role):
    user = make_user(role=role)
    login(user)
    response = client.post("/admin/organisations/new", data={
        "kind": "employer", "code": "sneaky", "name": "Sneaky", "country": "JP"})
    assert response.status_code == 403
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "name": "x", "role": "admin", "organisation": user.organisation_id, "locale": ""})
    assert response.status_code == 403
    assert _org("sneaky") is None
    assert db.session.get(User, user.id).role == role


@pytest.mark.parametrize("url", ADMIN_GET_URLS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url.format(org_id=1, user_id=1))
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_index_redirects_to_organisations(as_admin):
    response = as_admin.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/organisations")


def test_unknown_ids_answer_404(as_admin):
    assert as_admin.get("/admin/organisations/999999/edit").status_code == 404
    assert as_admin.get("/admin/users/999999/edit").status_code == 404


# -- organisations ---------------------------------------------------------------------------


def test_organisation_list_filters_and_counts_users(as_admin, make_org, make_user):
    sakura = make_org(kind="employer", code="sakura-kensetsu", name="株式会社サクラ建設")
    make_org(kind="employer", code="fuji-foods", name="Fuji Foods")
    dept = make_org(kind="department", code="so-ld-nghe-an", name="Sở LĐ Nghệ An")
    for _ in range(3):
        make_user(role="employer", org=sakura)

    html = as_admin.get("/admin/organisations?kind=employer").get_data(as_text=True)
    assert "株式会社サクラ建設" in html and "Fuji Foods" in html
    assert dept.name not in html
    # The user count links to the filtered user list.
    assert re.search(rf'organisation={sakura.id}">3</a>', html)

    html = as_admin.get("/admin/organisations?q=SAKURA").get_data(as_text=True)
    assert "株式会社サクラ建設" in html and "Fuji Foods" not in html
    html = as_admin.get("/admin/organisations?q=nghe").get_data(as_text=True)
    assert dept.name in html and "Fuji Foods" not in html
    html = as_admin.get("/admin/organisations?q=100%25").get_data(as_text=True)
    assert "No organisation matches" in html


def test_organisation_list_query_count_does_not_grow(as_admin, make_org, make_user,
                                                     count_queries):
    def fill(n):
        for _ in range(n):
            org = make_org(kind="employer")
            make_user(role="employer", org=org)

    fill(3)
    with count_queries() as few:
        assert as_admin.get("/admin/organisations").status_code == 200
    fill(12)
    with count_queries() as many:
        assert as_admin.get("/admin/organisations").status_code == 200
    assert many[0] == few[0]


def test_organisation_list_paginates(app, as_admin, make_org):
    app.config["ADMIN_PER_PAGE"] = 5
    for i in range(12):
        make_org(kind="employer", name=f"Employer {i:02d}")
    page1 = as_admin.get("/admin/organisations?kind=employer").get_data(as_text=True)
    page3 = as_admin.get("/admin/organisations?kind=employer&page=3").get_data(as_text=True)
    assert "Employer 00" in page1 and "Employer 05" not in page1
    assert "Employer 10" in page3 and "Employer 00" not in page3
    assert "page=2" in page1 and "kind=employer" in page1  # the pager keeps the filter


def test_create_department(as_admin):
    response = as_admin.post("/admin/organisations/new", data={
        "kind": "department", "code": " Thanh-Hoa ", "name": "Sở LĐ-TB&XH Thanh Hóa",
        "country": "VN", "province": "thanh-hoa", "active": "y"})
    assert response.status_code == 302
    org = _org("thanh-hoa")
    assert (org.kind, org.name, org.province, org.country, org.active) == (
        "department", "Sở LĐ-TB&XH Thanh Hóa", "thanh-hoa", "VN", True)


def test_department_needs_a_province(as_admin):
    response = as_admin.post("/admin/organisations/new", data={
        "kind": "department", "code": "no-province", "name": "Nowhere", "country": "VN",
        "province": ""})
    assert response.status_code == 200
    assert _field_error(response.get_data(as_text=True), "province")
    assert _org("no-province") is None


def test_province_is_ignored_for_an_employer(as_admin):
    as_admin.post("/admin/organisations/new", data={
        "kind": "employer", "code": "sakura", "name": "Sakura", "country": "JP",
        "province": "nghe-an"})
    assert _org("sakura").province is None


@pytest.mark.parametrize("code", ["Bad Code", "ổn", "a_b", "-x"])
def test_organisation_code_must_be_a_slug(as_admin, code):
    response = as_admin.post("/admin/organisations/new", data={
        "kind": "agency", "code": code, "name": "Agency", "country": "VN"})
    assert _field_error(response.get_data(as_text=True), "code")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)
                             .where(Organisation.kind == "agency")) == 0


def test_organisation_code_must_be_unique(as_admin, make_org):
    make_org(kind="agency", code="taken")
    response = as_admin.post("/admin/organisations/new", data={
        "kind": "employer", "code": "taken", "name": "Another", "country": "JP"})
    assert "already exists" in _field_error(response.get_data(as_text=True), "code")
    assert _org("taken").kind == "agency"


def test_edit_organisation(as_admin, make_org):
    org = make_org(kind="school", code="cd-nghe-an", name="Old name", province="nghe-an")
    page = as_admin.get(f"/admin/organisations/{org.id}/edit").get_data(as_text=True)
    assert 'value="Old name"' in page
    response = as_admin.post(f"/admin/organisations/{org.id}/edit", data={
        "kind": "school", "code": "cd-nghe-an", "name": "Trường Cao đẳng Việt – Đức Nghệ An",
        "country": "VN", "province": "ha-tinh", "active": "y"})
    assert response.status_code == 302
    db.session.refresh(org)
    assert (org.name, org.province) == ("Trường Cao đẳng Việt – Đức Nghệ An", "ha-tinh")


def test_kind_change_refused_while_users_need_the_old_kind(as_admin, make_org, make_user):
    org = make_org(kind="employer", code="kind-lock")
    make_user(role="employer", org=org)
    response = as_admin.post(f"/admin/organisations/{org.id}/edit", data={
        "kind": "agency", "code": "kind-lock", "name": org.name, "country": "JP",
        "active": "y"})
    assert _field_error(response.get_data(as_text=True), "kind")
    db.session.refresh(org)
    assert org.kind == "employer"


def test_admin_cannot_deactivate_own_organisation(as_admin, admin):
    org = admin.organisation
    response = as_admin.post(f"/admin/organisations/{org.id}/edit", data={
        "kind": "platform", "code": org.code, "name": org.name, "country": "VN"})
    assert _field_error(response.get_data(as_text=True), "active")
    db.session.refresh(org)
    assert org.active


def test_province_choices_follow_the_locale(client, make_user, login):
    admin = make_user(role="admin", locale="ja")
    login(admin)
    html = client.get("/admin/organisations/new").get_data(as_text=True)
    assert '<html lang="ja"' in html and "ゲアン" in html and "Nghệ An" not in html
    admin.locale = "vi"
    db.session.commit()
    html = client.get("/admin/organisations/new").get_data(as_text=True)
    assert "Nghệ An" in html and "ゲアン" not in html


# -- users -----------------------------------------------------------------------------------


def test_user_list_filters(as_admin, make_org, make_user):
    sakura = make_org(kind="employer", code="sakura", name="Sakura")
    dept = make_org(kind="department", code="dak-lak", province="dak-lak", name="Sở Đắk Lắk")
    make_user(role="employer", org=sakura, email="tanaka@sakura.example", name="Tanaka Hiroshi")
    make_user(role="department", org=dept, email="lan@daklak.example", name="Nguyễn Thị Lan")

    def listed(query):
        html = as_admin.get("/admin/users" + query).get_data(as_text=True)
        return {email for email in ("tanaka@sakura.example", "lan@daklak.example")
                if email in html}

    assert listed("") == {"tanaka@sakura.example", "lan@daklak.example"}
    assert listed("?role=employer") == {"tanaka@sakura.example"}
    assert listed(f"?organisation={dept.id}") == {"lan@daklak.example"}
    assert listed("?q=TANAKA") == {"tanaka@sakura.example"}
    assert listed("?q=daklak") == {"lan@daklak.example"}
    assert listed("?q=nguyen thi") == {"lan@daklak.example"}  # without diacritics


def test_user_list_shows_role_organisation_status_and_last_login(as_admin, admin, make_user):
    idle = make_user(role="agency", email="idle@agency.example", active=False)
    html = as_admin.get("/admin/users?q=idle@").get_data(as_text=True)
    assert idle.organisation.name in html and "Inactive" in html and "Never" in html
    html = as_admin.get(f"/admin/users?q={admin.email}").get_data(as_text=True)
    assert "Never" not in html  # the admin logged in just now


def test_user_list_query_count_does_not_grow(as_admin, make_user, count_queries):
    for _ in range(3):
        make_user(role="employer")
    with count_queries() as few:
        as_admin.get("/admin/users")
    for _ in range(12):
        make_user(role="agency")
    with count_queries() as many:
        as_admin.get("/admin/users")
    assert many[0] == few[0]


def test_create_user_who_can_then_log_in(app, as_admin, make_org):
    dept = make_org(kind="department", province="can-tho", code="can-tho")
    response = as_admin.post("/admin/users/new", data={
        "email": "  Officer@CanTho.example ", "name": "Trần Văn Bình", "role": "department",
        "organisation": dept.id, "locale": "vi", "password": "long enough 1"})
    assert response.status_code == 302
    user = _user("officer@cantho.example")
    assert (user.role, user.organisation_id, user.locale, user.name) == (
        "department", dept.id, "vi", "Trần Văn Bình")
    other = app.test_client()
    response = other.post("/auth/login", data={"email": "officer@cantho.example",
                                               "password": "long enough 1"})
    assert response.status_code == 302


def test_new_user_form_preselects_the_organisation(as_admin, make_org):
    agency = make_org(kind="agency", code="vn-agency")
    html = as_admin.get(f"/admin/users/new?organisation={agency.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{agency.id}">', html)
    assert '<option selected value="agency">' in html


def test_create_user_needs_a_password_of_eight_characters(as_admin, make_org):
    org = make_org(kind="employer")
    for password in ("", "short"):
        response = as_admin.post("/admin/users/new", data={
            "email": "new@example.org", "role": "employer", "organisation": org.id,
            "locale": "", "password": password})
        assert _field_error(response.get_data(as_text=True), "password")
    assert _user("new@example.org") is None


def test_create_user_refuses_duplicate_email(as_admin, make_user):
    existing = make_user(role="employer", email="dup@example.org")
    response = as_admin.post("/admin/users/new", data={
        "email": "DUP@example.org", "role": "employer", "organisation": existing.organisation_id,
        "locale": "", "password": "long enough 1"})
    assert "already exists" in _field_error(response.get_data(as_text=True), "email")


def test_role_and_organisation_kind_must_match(as_admin, make_org):
    employer = make_org(kind="employer", code="not-a-department")
    response = as_admin.post("/admin/users/new", data={
        "email": "wrong@example.org", "role": "department", "organisation": employer.id,
        "locale": "", "password": "long enough 1"})
    assert response.status_code == 200
    error = _field_error(response.get_data(as_text=True), "organisation")
    assert "Labour department" in error
    assert _user("wrong@example.org") is None


def test_edit_user(app, as_admin, make_user, make_org):
    user = make_user(role="employer", email="edit-me@example.org")
    agency = make_org(kind="agency")
    html = as_admin.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert "edit-me@example.org" in html
    assert re.search(rf'<option selected value="{user.organisation_id}">', html)

    response = as_admin.post(f"/admin/users/{user.id}/edit", data={
        "name": "Moved", "role": "agency", "organisation": agency.id, "locale": "ja",
        "password": ""})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.role, user.organisation_id, user.locale, user.active) == (
        "Moved", "agency", agency.id, "ja", False)  # "active" left unticked


def test_admin_sets_a_new_password(app, as_admin, make_user):
    user = make_user(role="employer", email="forgot@example.org")
    as_admin.post(f"/admin/users/{user.id}/edit", data={
        "name": "", "role": "employer", "organisation": user.organisation_id, "locale": "",
        "active": "y", "password": "brand new pass"})
    response = app.test_client().post("/auth/login", data={
        "email": "forgot@example.org", "password": "brand new pass"})
    assert response.status_code == 302


def test_admin_cannot_deactivate_or_demote_themselves(as_admin, admin, make_org):
    dept = make_org(kind="department")
    platform_id = admin.organisation_id
    response = as_admin.post(f"/admin/users/{admin.id}/edit", data={
        "name": admin.name, "role": "admin", "organisation": admin.organisation_id,
        "locale": ""})  # "active" unticked
    assert "deactivate your own account" in _field_error(response.get_data(as_text=True),
                                                          "active")
    response = as_admin.post(f"/admin/users/{admin.id}/edit", data={
        "name": admin.name, "role": "department", "organisation": dept.id, "locale": "",
        "active": "y"})
    assert "administrator role" in _field_error(response.get_data(as_text=True), "role")
    db.session.refresh(admin)
    assert (admin.role, admin.active, admin.organisation_id) == ("admin", True, platform_id)
