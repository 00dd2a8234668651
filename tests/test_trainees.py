"""The trainee registry (issue item 6): register, edit, view, list, export, certificates."""

import csv
import html
import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from matching.extensions import db
from matching.formats import TRAINEE_COLUMNS
from matching.models import LanguageCertificate, Skill, Trainee
from matching.operations.registry import RegistryError, create_trainee
from matching.vocab import FIELDS


@pytest.fixture
def dept(make_user):
    return make_user(role="department", province="nghe-an", locale="en", name="Lan Nghệ An")


@pytest.fixture
def other_dept(make_user):
    return make_user(role="department", province="ha-noi", locale="en")


@pytest.fixture
def admin(make_user):
    return make_user(role="admin", locale="en")


def form_data(**overrides) -> dict:
    data = {
        "external_id": "NA-001", "full_name": "Nguyễn Văn An", "name_kana": "",
        "date_of_birth": "2001-05-17", "gender": "M", "school": "Trường Cao đẳng Nghệ An",
        "field": "manufacturing", "skills": "Welding; CNC machining, welding",
        "japanese_level": "N3", "training_hours": "720", "experience_years": "1.5",
        "preferred_prefectures": ["aichi", "osaka"], "available_from": "2026-04-01",
        "email": "An@Example.org", "phone": "+84 912 345 678", "consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def trainees() -> list[Trainee]:
    return list(db.session.scalars(sa.select(Trainee).order_by(Trainee.id)))


def years_ago(years: int) -> str:
    """The birth date of someone who turns ``years`` today (28 Feb for a 29 Feb today)."""
    today = date.today()
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    return date(today.year - years, today.month, day).isoformat()


def page_text(response) -> str:
    """The page with entities decoded, so messages read as a user reads them."""
    return html.unescape(response.get_data(as_text=True))


# -- register ------------------------------------------------------------------------------


def test_register_through_the_form_stores_derived_values(client, login, dept):
    login(dept)
    response = client.post("/trainees/new", data=form_data())
    [trainee] = trainees()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/trainees/{trainee.id}")
    assert trainee.full_name == "Nguyễn Văn An"
    assert trainee.name_folded == "nguyen van an"
    assert trainee.province == "nghe-an"
    assert trainee.japanese_level == "N3" and trainee.language_rank == 3
    assert trainee.skill_slugs == ["cnc-machining", "welding"]
    assert trainee.prefecture_codes == ["aichi", "osaka"]
    assert trainee.experience_years == 1.5 and trainee.training_hours == 720
    assert trainee.email == "an@example.org" and trainee.consent is True
    assert trainee.status == "available"
    assert trainee.created_by_id == dept.id == trainee.updated_by_id

    page = page_text(client.get(f"/trainees/{trainee.id}"))
    assert "Nguyễn Văn An" in page and "CNC machining" in page  # the skill's label
    assert "Aichi" in page and "Lan Nghệ An" in page  # prefecture name, created by


def test_the_form_offers_localised_choices_and_catalogue_skills(client, login, make_user):
    login(make_user(role="department", province="nghe-an", locale="ja"))
    page = page_text(client.get("/trainees/new"))
    assert FIELDS["nursing_care"].ja in page
    assert "愛知県" in page  # prefecture in Japanese
    assert 'name="province"' not in page  # fixed to the department's province
    assert "ゲアン" in page  # ... and shown read-only, in Japanese
    assert 'list="skills-list"' in page and "dementia-care" in page  # catalogue for the hint


def test_katakana_reading_is_accepted(client, login, dept):
    login(dept)
    client.post("/trainees/new", data=form_data(name_kana="グエン・ヴァン・アン"))
    client.post("/trainees/new", data=form_data(external_id="B", name_kana="ｸﾞｴﾝ　ﾐﾝ ﾄﾞｩｯｸ"))
    assert [t.name_kana for t in trainees()] == ["グエン・ヴァン・アン", "グエン ミン ドゥック"]


@pytest.mark.parametrize("overrides, message", [
    ({"full_name": "  "}, "Enter the trainee's full name."),
    ({"external_id": ""}, "Enter the trainee's ID."),
    ({"date_of_birth": "31/02/2001"}, "Enter a valid date (YYYY-MM-DD)."),
    ({"date_of_birth": ""}, "Enter the date of birth."),
    ({"date_of_birth": years_ago(14)}, "The trainee must be between 15 and 65 years old."),
    ({"date_of_birth": years_ago(66)}, "The trainee must be between 15 and 65 years old."),
    ({"name_kana": "Nguyen"}, "Write the name in katakana only"),
    ({"field": ""}, "Choose a field."),
    ({"field": "space_travel"}, "Choose a value from the list."),
    ({"preferred_prefectures": ["atlantis"]}, "Choose prefectures from the list."),
    ({"experience_years": "51"}, "Enter a number from 0 to 50."),
    ({"training_hours": "-3"}, "Enter a number of hours from 0 to 100,000."),
    ({"email": "not-an-address"}, "Enter a valid e-mail address."),
    ({"phone": "call me"}, "Enter a phone number with 6 to 15 digits"),
])
def test_invalid_input_is_explained_next_to_the_field_and_nothing_is_written(
        client, login, dept, overrides, message):
    login(dept)
    response = client.post("/trainees/new", data=form_data(**overrides))
    assert response.status_code == 200
    page = page_text(response)
    assert message in page
    assert 'class="field-error"' in page and 'aria-invalid="true"' in page
    assert trainees() == []


def test_age_limits_are_inclusive(client, login, dept):
    login(dept)
    client.post("/trainees/new", data=form_data(external_id="A", date_of_birth=years_ago(15)))
    client.post("/trainees/new", data=form_data(external_id="B", date_of_birth=years_ago(65)))
    assert [t.external_id for t in trainees()] == ["A", "B"]


def test_duplicate_id_in_the_province_is_a_field_error(client, login, dept, make_trainee):
    make_trainee(external_id="NA-001", province="nghe-an")
    login(dept)
    response = client.post("/trainees/new", data=form_data(external_id="NA-001"))
    assert response.status_code == 200
    assert "Another trainee of this province already has this ID." in page_text(response)
    assert len(trainees()) == 1


def test_same_id_in_another_province_is_fine_for_admin(client, login, admin, make_trainee):
    make_trainee(external_id="NA-001", province="nghe-an")
    login(admin)
    response = client.post("/trainees/new", data=form_data(province="ha-noi"))
    assert response.status_code == 302
    assert sorted(t.province for t in trainees()) == ["ha-noi", "nghe-an"]


def test_admin_must_choose_a_province(client, login, admin):
    login(admin)
    response = client.post("/trainees/new", data=form_data(province=""))
    assert "Choose a province." in page_text(response)
    assert trainees() == []


def test_department_cannot_register_in_another_province(client, login, dept):
    login(dept)
    client.post("/trainees/new", data=form_data(province="ha-noi"))  # tampered form
    assert [t.province for t in trainees()] == ["nghe-an"]
    # The operation refuses it too, whatever calls it.
    with pytest.raises(RegistryError):
        create_trainee(dict(form_data(), province="ha-noi", skills=[],
                            date_of_birth=date(2001, 5, 17)), dept)
    assert len(trainees()) == 1


# -- edit ----------------------------------------------------------------------------------


def test_edit_updates_the_trainee(client, login, dept, make_user, make_trainee):
    creator = make_user(role="department", province="nghe-an")
    trainee = make_trainee(full_name="Nguyễn Văn An", japanese_level="N5",
                           created_by_id=creator.id)
    login(dept)
    page = page_text(client.get(f"/trainees/{trainee.id}/edit"))
    assert 'value="Nguyễn Văn An"' in page and 'name="status"' in page

    response = client.post(f"/trainees/{trainee.id}/edit", data=form_data(
        external_id=trainee.external_id, full_name="Lê Thị Hoa", japanese_level="N2",
        status="in_process", skills="tiling", province="ha-noi"))
    assert response.status_code == 302
    db.session.expire_all()
    trainee = db.session.get(Trainee, trainee.id)
    assert trainee.full_name == "Lê Thị Hoa" and trainee.name_folded == "le thi hoa"
    assert trainee.language_rank == 4 and trainee.status == "in_process"
    assert trainee.skill_slugs == ["tiling"]
    assert trainee.province == "nghe-an"
    assert trainee.created_by_id == creator.id and trainee.updated_by_id == dept.id


def test_edit_to_a_taken_id_is_a_field_error(client, login, dept, make_trainee):
    make_trainee(external_id="TAKEN")
    trainee = make_trainee(external_id="MINE", full_name="Phạm Văn Bình")
    login(dept)
    response = client.post(f"/trainees/{trainee.id}/edit", data=form_data(
        external_id="TAKEN", status="available"))
    assert "Another trainee of this province already has this ID." in page_text(response)
    db.session.expire_all()
    assert db.session.get(Trainee, trainee.id).external_id == "MINE"


# -- search, filters, sorting, pagination --------------------------------------------------


@pytest.fixture
def registry(make_trainee):
    """A small registry in Nghệ An plus one trainee in Hà Nội."""
    return {
        "an": make_trainee(external_id="NA-100", full_name="Nguyễn Văn An",
                           field="construction", japanese_level="N4", status="available",
                           school="Trường A", available_from=date(2026, 6, 1)),
        "duc": make_trainee(external_id="NA-200", full_name="Nguyễn Minh Đức",
                            field="manufacturing", japanese_level="N3", status="available",
                            school="Trường B", available_from=date(2026, 1, 1)),
        "binh": make_trainee(external_id="NA-201", full_name="Trần Thị Bình",
                             field="manufacturing", japanese_level="N5", status="deployed",
                             school="Trường A"),
        "hanoi": make_trainee(external_id="HN-100", full_name="Nguyễn Văn An Hà Nội",
                              province="ha-noi", field="construction"),
    }


def listed(client, query: str = "") -> str:
    response = client.get("/trainees/" + (f"?{query}" if query else ""))
    assert response.status_code == 200
    return page_text(response)


def names_in(page: str, registry) -> list[str]:
    """The registry names in the order they appear on the page."""
    found = [(page.find(f">{t.full_name}<"), t.full_name) for t in registry.values()]
    return [name for pos, name in sorted(found) if pos >= 0]


def test_list_shows_the_province_only(client, login, dept, registry):
    login(dept)
    page = listed(client)
    assert names_in(page, registry) == ["Nguyễn Minh Đức", "Nguyễn Văn An", "Trần Thị Bình"]
    assert "3 trainees found" in page
    # Field and status in the user's language.
    assert "Industrial product manufacturing" in page and "Deployed" in page


@pytest.mark.parametrize("q, expected", [
    ("nguyen van an", ["Nguyễn Văn An"]),
    ("Nguyễn Văn An", ["Nguyễn Văn An"]),
    ("đức", ["Nguyễn Minh Đức"]),
    ("duc", ["Nguyễn Minh Đức"]),
    ("DUC", ["Nguyễn Minh Đức"]),
    ("nguyen", ["Nguyễn Minh Đức", "Nguyễn Văn An"]),
    ("NA-2", ["Nguyễn Minh Đức", "Trần Thị Bình"]),  # trainee ID prefix
    ("NA-201", ["Trần Thị Bình"]),
    ("100%", []),
])
def test_search_folds_diacritics_and_matches_ids(client, login, dept, registry, q, expected):
    login(dept)
    page = listed(client, f"q={q}")
    assert names_in(page, registry) == expected
    if not expected:
        assert "No trainee matches these filters." in page


@pytest.mark.parametrize("query, expected", [
    ("field=manufacturing", ["Nguyễn Minh Đức", "Trần Thị Bình"]),
    ("level=N4", ["Nguyễn Minh Đức", "Nguyễn Văn An"]),  # N4 or better
    ("level=N3", ["Nguyễn Minh Đức"]),
    ("status=deployed", ["Trần Thị Bình"]),
    ("school=Trường A", ["Nguyễn Văn An", "Trần Thị Bình"]),
    ("school=Trường A&field=manufacturing", ["Trần Thị Bình"]),
    ("province=ha-noi", []),  # a department cannot widen its scope
    ("field=nonsense&level=XYZ", ["Nguyễn Minh Đức", "Nguyễn Văn An", "Trần Thị Bình"]),
])
def test_filters(client, login, dept, registry, query, expected):
    login(dept)
    assert names_in(listed(client, query), registry) == expected


def test_school_filter_offers_the_schools_in_scope(client, login, dept, registry):
    login(dept)
    page = listed(client)
    assert '<option value="Trường A">' in page and '<option value="Trường B">' in page
    assert "Hà Nội" not in page


@pytest.mark.parametrize("query, expected", [
    ("sort=name", ["Nguyễn Minh Đức", "Nguyễn Văn An", "Trần Thị Bình"]),
    ("sort=name&dir=desc", ["Trần Thị Bình", "Nguyễn Văn An", "Nguyễn Minh Đức"]),
    ("sort=external_id&dir=desc", ["Trần Thị Bình", "Nguyễn Minh Đức", "Nguyễn Văn An"]),
    ("sort=level", ["Nguyễn Minh Đức", "Nguyễn Văn An", "Trần Thị Bình"]),
    ("sort=newest", ["Trần Thị Bình", "Nguyễn Minh Đức", "Nguyễn Văn An"]),
    # Without a date goes last in both directions.
    ("sort=available_from", ["Nguyễn Minh Đức", "Nguyễn Văn An", "Trần Thị Bình"]),
    ("sort=available_from&dir=desc", ["Nguyễn Văn An", "Nguyễn Minh Đức", "Trần Thị Bình"]),
])
def test_sorting(client, login, dept, registry, query, expected):
    login(dept)
    assert names_in(listed(client, query), registry) == expected


def test_pagination_keeps_the_filters(app, client, login, dept, make_trainee):
    app.config["TRAINEES_PER_PAGE"] = 2
    for i in range(5):
        make_trainee(external_id=f"P{i}", full_name=f"Võ Văn Tài {i}", field="fishery")
    make_trainee(external_id="X", full_name="Đỗ Thị Xuân", field="railway")
    login(dept)
    first = listed(client, "field=fishery")
    assert "Võ Văn Tài 0" in first and "Võ Văn Tài 2" not in first
    links = re.findall(r'href="(/trainees/\?[^"]*)"', first)
    assert any("page=3" in link and "field=fishery" in link for link in links)
    last = listed(client, "field=fishery&page=3")
    assert "Võ Văn Tài 4" in last and "Võ Văn Tài 3" not in last
    assert "Đỗ Thị Xuân" not in last
    beyond = listed(client, "field=fishery&page=9")  # clamped to the last page (issue 8)
    assert "Võ Văn Tài 4" in beyond and "Võ Văn Tài 3" not in beyond


def test_list_query_count_does_not_grow_with_the_page(app, client, login, dept,
                                                     make_trainee, count_queries):
    login(dept)
    make_trainee(skills=[])
    with count_queries() as small:
        listed(client)
    for i in range(20):
        make_trainee(external_id=f"Q{i}", school=f"School {i}")
    with count_queries() as large:
        page = listed(client)
    assert page.count("/trainees/") > 20
    # session user, schools filter, count, page, skills of the page.
    assert small[0] == large[0] == 5


def test_empty_registry_has_a_friendly_message(client, login, dept):
    login(dept)
    assert "No trainees are registered yet." in listed(client)


# -- export --------------------------------------------------------------------------------


def exported(client, query: str = ""):
    response = client.get("/trainees/export.csv" + (f"?{query}" if query else ""))
    try:
        assert response.status_code == 200
        body = response.get_data()
    finally:
        response.close()
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 Vietnamese correctly
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return response, rows


def test_export_is_the_public_import_format(client, login, dept, make_trainee):
    make_trainee(external_id="NA-1", full_name="Nguyễn Thị Hương", gender="F",
                 date_of_birth=date(2000, 2, 29), field="nursing_care", japanese_level="N4",
                 training_hours=800, experience_years=2.5,
                 preferred_prefectures="tokyo;aichi", available_from=date(2026, 4, 1),
                 email="huong@example.org", phone="0912345678", school="Trường, có dấu phẩy")
    client_trainee = trainees()[0]
    login(dept)
    client.post(f"/trainees/{client_trainee.id}/edit", data=form_data(
        external_id="NA-1", full_name="Nguyễn Thị Hương", gender="F",
        date_of_birth="2000-02-29", field="nursing_care", japanese_level="N4",
        training_hours="800", experience_years="2.5", preferred_prefectures=["tokyo", "aichi"],
        available_from="2026-04-01", email="huong@example.org", phone="0912345678",
        school="Trường, có dấu phẩy", skills="dementia-care; vital-signs", status="available"))
    response, rows = exported(client)
    assert rows[0] == [*TRAINEE_COLUMNS, "email", "phone", "consent", "name_kana"]
    assert rows[1] == ["NA-1", "Nguyễn Thị Hương", "2000-02-29", "F", "nghe-an",
                       "Trường, có dấu phẩy", "nursing_care", "dementia-care;vital-signs", "N4",
                       "800", "2.5", "tokyo;aichi", "2026-04-01", "huong@example.org",
                       "0912345678", "yes", ""]
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="trainees-nghe-an-\d{8}\.csv"',
                        response.headers["Content-Disposition"])


def test_export_follows_the_filter_and_the_scope(client, login, dept, registry):
    login(dept)
    _, rows = exported(client, "field=manufacturing&sort=name&dir=desc")
    assert [r[1] for r in rows[1:]] == ["Trần Thị Bình", "Nguyễn Minh Đức"]
    # A department never exports another province, whatever the query says.
    _, rows = exported(client, "province=ha-noi")
    assert rows[1:] == []
    _, rows = exported(client, "q=HN-100")
    assert rows[1:] == []
    _, rows = exported(client)
    assert {r[4] for r in rows[1:]} == {"nghe-an"} and len(rows) == 4


def test_admin_lists_and_exports_every_province(client, login, admin, registry):
    login(admin)
    page = listed(client, "province=ha-noi")
    assert names_in(page, registry) == ["Nguyễn Văn An Hà Nội"] and ">Hanoi<" in page
    response, rows = exported(client)
    assert len(rows) == 5
    assert "trainees-all-" in response.headers["Content-Disposition"]
    response, rows = exported(client, "province=ha-noi")
    assert [r[0] for r in rows[1:]] == ["HN-100"]
    assert "trainees-ha-noi-" in response.headers["Content-Disposition"]


def test_export_link_carries_the_filters(client, login, dept, registry):
    login(dept)
    page = listed(client, "field=manufacturing&q=nguyen&page=1")
    link = re.search(r'href="(/trainees/export\.csv[^"]*)"', page).group(1)
    assert "field=manufacturing" in link and "q=nguyen" in link and "page" not in link
    assert "Export 1 trainee as CSV" in page


# -- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["employer", "agency"])
@pytest.mark.parametrize("method, url", [
    ("get", "/trainees/"), ("get", "/trainees/new"), ("post", "/trainees/new"),
    ("get", "/trainees/export.csv"), ("get", "/trainees/{id}"), ("get", "/trainees/{id}/edit"),
    ("post", "/trainees/{id}/certificates"),
])
def test_employers_and_agencies_are_refused(client, login, make_user, make_trainee, role,
                                            method, url):
    trainee = make_trainee()
    login(make_user(role=role))
    response = getattr(client, method)(url.format(id=trainee.id))
    assert response.status_code == 403


@pytest.mark.parametrize("method, url", [
    ("get", "/trainees/{id}"), ("get", "/trainees/{id}/edit"), ("post", "/trainees/{id}/edit"),
    ("post", "/trainees/{id}/certificates"), ("post", "/trainees/{id}/certificates/{cert}/delete"),
])
def test_another_province_gets_404(client, login, other_dept, make_trainee, method, url):
    trainee = make_trainee(province="nghe-an")
    cert = LanguageCertificate(trainee=trainee, language="ja", test="JLPT", level="N3",
                               issued_on=date(2024, 7, 1), cefr_rank=3)
    db.session.add(cert)
    db.session.commit()
    login(other_dept)
    response = getattr(client, method)(url.format(id=trainee.id, cert=cert.id),
                                       data=form_data(full_name="Hacked"))
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Trainee, trainee.id).full_name != "Hacked"
    assert db.session.get(LanguageCertificate, cert.id) is not None


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/trainees/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# -- certificates --------------------------------------------------------------------------


def cert_data(**overrides) -> dict:
    data = {"language": "ja", "test": "JLPT", "level": "n2", "score": "",
            "issued_on": "2024-12-01", "expires_on": ""}
    data.update(overrides)
    return data


def test_certificates_raise_and_lower_the_rank(client, login, dept, make_trainee):
    trainee = make_trainee(japanese_level="N4")
    login(dept)
    response = client.post(f"/trainees/{trainee.id}/certificates", data=cert_data())
    assert response.status_code == 302
    db.session.expire_all()
    trainee = db.session.get(Trainee, trainee.id)
    [cert] = trainee.certificates
    assert (cert.level, cert.cefr_rank, trainee.language_rank) == ("N2", 4, 4)
    assert trainee.japanese_level == "N4"  # the declared level is kept as typed

    # An English certificate does not count as Japanese.
    client.post(f"/trainees/{trainee.id}/certificates",
                data=cert_data(language="en", test="CEFR", level="C1"))
    page = page_text(client.get(f"/trainees/{trainee.id}"))
    assert "JLPT" in page and "English" in page and "C1" in page
    db.session.expire_all()
    assert db.session.get(Trainee, trainee.id).language_rank == 4

    response = client.post(f"/trainees/{trainee.id}/certificates/{cert.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    trainee = db.session.get(Trainee, trainee.id)
    assert [c.test for c in trainee.certificates] == ["CEFR"]
    assert trainee.language_rank == 2


@pytest.mark.parametrize("overrides, message", [
    ({"expires_on": "2024-01-01"}, "The expiry date cannot be before the issue date."),
    ({"issued_on": ""}, "Enter the issue date."),
    ({"level": "N7"}, "A JLPT level is one of N5, N4, N3, N2 or N1."),
    ({"level": "", "score": ""}, "Enter the level or the score."),
    ({"language": "ko"}, "This test does not certify the chosen language."),
    ({"test": "TOEFL"}, "Choose a value from the list."),
])
def test_invalid_certificates_are_explained(client, login, dept, make_trainee, overrides,
                                            message):
    trainee = make_trainee()
    login(dept)
    response = client.post(f"/trainees/{trainee.id}/certificates", data=cert_data(**overrides))
    assert response.status_code == 200
    assert message in page_text(response)
    assert db.session.scalar(sa.select(sa.func.count(LanguageCertificate.id))) == 0


def test_a_certificate_of_another_trainee_cannot_be_deleted(client, login, dept, make_trainee):
    first, second = make_trainee(), make_trainee()
    cert = LanguageCertificate(trainee=second, language="ja", test="JLPT", level="N3",
                               cefr_rank=3)
    db.session.add(cert)
    db.session.commit()
    login(dept)
    response = client.post(f"/trainees/{first.id}/certificates/{cert.id}/delete")
    assert response.status_code == 404
    assert db.session.get(LanguageCertificate, cert.id) is not None


def test_nat_test_grades_count_on_the_japanese_rank(client, login, dept, make_trainee):
    trainee = make_trainee(japanese_level="none")
    login(dept)
    client.post(f"/trainees/{trainee.id}/certificates",
                data=cert_data(test="NAT-TEST", level="3q", score="120"))
    db.session.expire_all()
    trainee = db.session.get(Trainee, trainee.id)
    assert [(c.level, c.score, c.cefr_rank) for c in trainee.certificates] == [("3Q", 120, 3)]
    assert trainee.language_rank == 3


@pytest.mark.parametrize("locale", ["vi", "ja"])
def test_pages_follow_the_user_locale(client, login, make_user, make_trainee, locale):
    trainee = make_trainee(field="construction", preferred_prefectures="osaka", gender="F")
    db.session.add(LanguageCertificate(trainee=trainee, language="ja", test="JLPT", level="N3",
                                       issued_on=date(2024, 7, 1), cefr_rank=3))
    db.session.commit()
    login(make_user(role="department", province="nghe-an", locale=locale))
    field_name = getattr(FIELDS["construction"], locale)
    assert field_name in page_text(client.get("/trainees/"))
    view = page_text(client.get(f"/trainees/{trainee.id}"))
    assert field_name in view and ("大阪府" if locale == "ja" else "Osaka") in view
    for url in ("/trainees/new", f"/trainees/{trainee.id}/edit"):
        assert field_name in page_text(client.get(url))


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_certificate_forms_carry_csrf_tokens(csrf_on, client, dept, make_trainee):
    trainee = make_trainee(japanese_level="N5")
    login_page = page_text(client.get("/auth/login"))
    client.post("/auth/login", data={"email": dept.email, "password": "correct horse 42",
                                     "csrf_token": csrf_token(login_page)})
    view = page_text(client.get(f"/trainees/{trainee.id}"))
    response = client.post(f"/trainees/{trainee.id}/certificates",
                           data=dict(cert_data(), csrf_token=csrf_token(view)))
    assert response.status_code == 302
    db.session.expire_all()
    [cert] = db.session.get(Trainee, trainee.id).certificates
    url = f"/trainees/{trainee.id}/certificates/{cert.id}/delete"
    assert client.post(url).status_code == 400  # no token: refused
    view = page_text(client.get(f"/trainees/{trainee.id}"))
    form = re.search(rf'action="{url}".*?</form>', view, re.S).group(0)
    assert client.post(url, data={"csrf_token": csrf_token(form)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(LanguageCertificate, cert.id) is None


def test_an_export_reimports_unchanged(client, login, dept, make_trainee):
    from matching.operations.imports.parsing import import_file
    from matching.operations.imports.trainees import import_trainees

    make_trainee(external_id="R-1", full_name="Nguyễn Thị Hương", gender="F", school="Trường A",
                 japanese_level="JFT-A2", training_hours=640, experience_years=1.5,
                 preferred_prefectures="tokyo;aichi", available_from=date(2026, 4, 1),
                 email="huong@example.org", phone="+84 912 345 678",
                 skills=[Skill(slug="welding"), Skill(slug="cnc-machining")])
    make_trainee(external_id="R-2", full_name="Trần Văn Đông", japanese_level="none")
    columns = ("external_id", "full_name", "date_of_birth", "gender", "school", "field",
               "japanese_level", "language_rank", "training_hours", "experience_years",
               "preferred_prefectures", "available_from", "email", "phone", "province",
               "skill_slugs")
    before = [tuple(getattr(t, c) for c in columns) for t in trainees()]
    login(dept)
    response = client.get("/trainees/export.csv")
    body = response.get_data()
    response.close()

    result = import_file(io.BytesIO(body), "export.csv", import_trainees, user=dept)
    assert result.ok and (result.created, result.updated) == (0, 2)
    db.session.expire_all()
    assert [tuple(getattr(t, c) for c in columns) for t in trainees()] == before


def test_years_of_experience_accept_a_decimal_comma(client, login, make_user):
    """Vietnamese users type 1,5 for one and a half years: the import and the form accept it."""
    officer = make_user(role="department", province="nghe-an")
    login(officer)
    response = client.post("/trainees/new", data={
        "external_id": "NA-COMMA-1", "full_name": "Trần Thị Bích", "date_of_birth": "2000-05-01",
        "field": "construction", "japanese_level": "N5", "experience_years": "1,5",
        "training_hours": "300", "consent": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    trainee = db.session.scalar(sa.select(Trainee).where(Trainee.external_id == "NA-COMMA-1"))
    assert trainee.experience_years == 1.5
