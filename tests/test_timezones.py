"""Every user sees their own time (issue 10 §4).

Times are stored as naive UTC and shown in the reader's zone with its label: their own
choice (account page, or an admin on the user form), else their organisation's (Japan time
in Japan, Vietnam time in Vietnam), else the app default. Calendar dates never shift.

The instant used throughout, 2026-12-06 16:30 UTC, is the evening of the 6th in Vietnam
(23:30) and already the 7th in Japan (01:30), so a wrong zone shows on the day too.
"""

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from matching.extensions import db
from matching.i18n import fmt_date, fmt_datetime
from matching.models import Decision, StatusEvent, User
from matching.timezones import organisation_timezone, user_timezone, zone_label
from tests.conftest import add_job_order, open_dispatch

INSTANT = datetime(2026, 12, 6, 16, 30)  # naive UTC, as stored
HAPPENED = date(2026, 12, 6)  # a calendar date: the same everywhere
# English times put a narrow no-break space (U+202F, as CLDR says) before AM and PM.


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def decision_job(make_user, make_org, make_trainee):
    """A job order of an employer in Japan with one decision taken at ``INSTANT``."""

    def make(**user_values):
        employer = make_user(role="employer", **user_values)
        job = add_job_order(external_id="JO-TZ-1", employer_id=employer.organisation_id,
                            agency_id=make_org(kind="agency").id, title="Care worker",
                            field="nursing_care", headcount=2, visa_track="SSW1")
        trainee = make_trainee(field="nursing_care")
        db.session.add(Decision(job_order_id=job.id, trainee_id=trainee.id,
                                decision="shortlisted", decided_by_id=employer.id,
                                decided_at=INSTANT))
        db.session.commit()
        return employer, job

    return make


@pytest.fixture
def timeline(make_org, make_trainee, make_user):
    """A dispatch of a Nghệ An trainee whose step happened on ``HAPPENED``, recorded at
    ``INSTANT``; returns a function making a Nghệ An department user who reads it."""
    dispatch = open_dispatch(make_org, make_trainee, stage="selected")
    db.session.add(StatusEvent(dispatch_id=dispatch.id, from_stage="selected",
                               to_stage="contract_signed", happened_on=HAPPENED, at=INSTANT))
    db.session.commit()

    def reader(**user_values):
        return make_user(role="department", province="nghe-an", **user_values)

    return dispatch, reader


def test_an_employer_in_japan_sees_a_decision_in_japan_time(client, login, decision_job):
    employer, job = decision_job(locale="ja")
    assert employer.organisation.country == "JP" and employer.timezone is None
    login(employer)
    html = text(client.get(f"/jobs/{job.id}/decisions"))
    assert "2026/12/07 1:30 (JST)" in html


def test_a_department_in_vietnam_sees_vietnam_time(client, login, timeline):
    dispatch, reader = timeline
    login(reader(locale="vi"))
    html = text(client.get(f"/dispatch/{dispatch.id}"))
    assert "06/12/2026 23:30 (GMT+7)" in html


def test_a_user_who_chose_another_zone_sees_it(client, login, timeline, decision_job):
    dispatch, reader = timeline
    login(reader(locale="vi", timezone="Asia/Tokyo"))
    assert "07/12/2026 01:30 (GMT+9)" in text(client.get(f"/dispatch/{dispatch.id}"))
    client.post("/auth/logout")

    employer, job = decision_job(locale="en", timezone="America/New_York")
    login(employer)
    assert "Dec 6, 2026, 11:30\u202fAM (EST)" in text(client.get(f"/jobs/{job.id}/decisions"))


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Honolulu", "Pacific/Kiritimati"])
def test_a_calendar_date_never_shifts(client, login, timeline, zone):
    """The day a step happened and a date of birth read the same in every zone (Kiritimati
    is UTC+14, Honolulu UTC−10)."""
    dispatch, reader = timeline
    login(reader(locale="vi", timezone=zone))
    html = text(client.get(f"/dispatch/{dispatch.id}"))
    assert "<span>06/12/2026</span>" in html
    trainee_page = text(client.get(f"/trainees/{dispatch.trainee_id}"))
    assert "01/01/2000" in trainee_page  # make_trainee's date of birth


def test_defaults_by_organisation(app, make_user, make_org):
    assert user_timezone(make_user(role="employer")) == "Asia/Tokyo"
    assert user_timezone(make_user(role="department")) == "Asia/Ho_Chi_Minh"
    assert user_timezone(make_user(role="agency")) == "Asia/Ho_Chi_Minh"
    # Elsewhere (a country the forms do not offer yet): the app default.
    assert organisation_timezone(make_org(kind="agency", country="KR")) == \
        app.config["BABEL_DEFAULT_TIMEZONE"]
    # A zone of one's own wins; a stored zone zoneinfo does not know is ignored.
    assert user_timezone(make_user(role="employer", timezone="Asia/Seoul")) == "Asia/Seoul"
    assert user_timezone(make_user(role="employer", timezone="Mars/Olympus")) == "Asia/Tokyo"


def test_labels_follow_the_locale():
    assert zone_label("Asia/Tokyo", "ja", INSTANT) == "JST"
    assert zone_label("Asia/Tokyo", "vi", INSTANT) == "GMT+9"
    assert zone_label("Asia/Ho_Chi_Minh", "en", INSTANT) == "GMT+7"
    assert zone_label("Asia/Kolkata", "en", INSTANT) == "GMT+5:30"
    assert zone_label("America/New_York", "en", datetime(2026, 7, 1)) == "EDT"


def test_outside_a_request_times_are_utc(app):
    """The CLI and background work write machine output: UTC, and dates as they are."""
    with force_locale("en"):
        assert fmt_datetime(INSTANT) == "Dec 6, 2026, 4:30\u202fPM (UTC)"
        assert fmt_date(HAPPENED) == "Dec 6, 2026"


def test_anonymous_pages_use_the_app_default(app, client):
    with app.test_request_context("/?lang=vi"):
        assert fmt_datetime(INSTANT) == "06/12/2026 23:30 (GMT+7)"


# -- the account page --------------------------------------------------------------------------


def test_the_account_page_changes_zone_and_language(client, login, make_user):
    user = make_user(role="department", locale="vi")
    login(user)
    page = text(client.get("/auth/account"))
    assert "(GMT+7) Giờ Việt Nam" in page  # the organisation's zone, named
    assert 'value="Asia/Tokyo"' in page
    response = client.post("/auth/account", data={"locale": "ja", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302 and response.location.endswith("/auth/account")
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.locale, saved.timezone) == ("ja", "Asia/Tokyo")
    page = text(client.get("/auth/account"))
    assert "アカウント設定を保存しました。" in page  # confirmed in the language just chosen
    assert '<option selected value="Asia/Tokyo">' in page
    assert "(JST)" in page  # "it is now …" in the chosen zone
    # Empty: back to the organisation's zone (and the browser's language).
    client.post("/auth/account", data={"locale": "", "timezone": ""})
    db.session.expire_all()
    assert (db.session.get(User, user.id).locale,
            db.session.get(User, user.id).timezone) == (None, None)


@pytest.mark.parametrize(("locale", "message"), [
    ("vi", "không phải là múi giờ hợp lệ"),
    ("ja", "タイムゾーンとして使えません。一覧から選んでください。"),
    ("en", "is not a known time zone; choose one from the list."),
])
def test_the_account_page_refuses_an_unknown_zone(client, login, make_user, locale, message):
    user = make_user(role="employer", locale=locale, timezone="Asia/Seoul")
    login(user)
    response = client.post("/auth/account", data={"locale": locale, "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert message in text(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "Asia/Seoul"


def test_any_real_zone_is_kept_and_offered(client, login, make_user):
    """The list is a suggestion: a real IANA zone outside it is accepted and shown."""
    user = make_user(role="agency", locale="en")
    login(user)
    assert client.post("/auth/account", data={"locale": "en", "timezone": "Europe/Vienna"}
                       ).status_code == 302
    assert '<option selected value="Europe/Vienna">' in text(client.get("/auth/account"))


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_account_page_needs_the_csrf_token(client, login, make_user, app_config):
    user = make_user(role="agency", locale="en")
    page = text(client.get("/auth/login"))
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": user.email, "password": "correct horse 42",
                                     "csrf_token": token})
    response = client.post("/auth/account", data={"locale": "en", "timezone": "Asia/Tokyo"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone is None
    page = text(client.get("/auth/account"))
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/auth/account", data={"locale": "en", "timezone": "Asia/Tokyo",
                                              "csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "Asia/Tokyo"


# -- admins ------------------------------------------------------------------------------------


def test_an_admin_sets_a_users_zone(client, login, make_user, make_org, decision_job):
    employer, job = decision_job(locale="en")
    login(make_user(role="admin", locale="en"))
    form = {"name": "", "role": "employer", "organisation": employer.organisation_id,
            "locale": "en", "active": "y"}
    page = text(client.get(f"/admin/users/{employer.id}/edit"))
    assert "The organisation&#39;s time zone" in page
    response = client.post(f"/admin/users/{employer.id}/edit",
                           data={**form, "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "is not a known time zone" in text(response)
    assert client.post(f"/admin/users/{employer.id}/edit",
                       data={**form, "timezone": "Asia/Ho_Chi_Minh"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, employer.id).timezone == "Asia/Ho_Chi_Minh"
    # A new user with a zone.
    org = make_org(kind="employer")
    assert client.post("/admin/users/new", data={
        "email": "hr@osaka.example", "name": "", "role": "employer", "organisation": org.id,
        "locale": "ja", "timezone": "Asia/Tokyo", "password": "long enough 1"}
    ).status_code == 302
    created = db.session.scalar(sa.select(User).where(User.email == "hr@osaka.example"))
    assert created.timezone == "Asia/Tokyo"
    # The employer now reads the decision in Vietnam time, as the admin set.
    client.post("/auth/logout")
    login(employer)
    assert "Dec 6, 2026, 11:30\u202fPM (GMT+7)" in text(client.get(f"/jobs/{job.id}/decisions"))

