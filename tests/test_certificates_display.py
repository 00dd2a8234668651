"""Certificates in their own scale (issue 10 §2): every level is shown as its test names it
(JLPT N2, JFT-Basic A2, NAT-TEST 3Q, J.TEST 準A, TOPIK 3, CEFR B1), on the candidate card,
the profile and the trainee page, with the certificate the effective level comes from; CEFR
ranks stay the axis of the comparison."""

from datetime import date

import pytest

from matching.extensions import db
from matching.labels import effective_level_label, level_label, level_source
from matching.models import JobOrder, LanguageCertificate
from matching.operations import registry
from matching.operations.registry import RegistryError
from matching.ranking.pool import clear_memory_cache
from matching.vocab.languages import certificate_level_name, certificate_rank
from matching.web.jobs.cards import language_comparison


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


def cert(trainee, test, level, issued=date(2025, 7, 6), language="ja", score=None):
    c = LanguageCertificate(trainee=trainee, language=language, test=test, level=level,
                            score=score, issued_on=issued,
                            cefr_rank=certificate_rank(test, level) if level else 0)
    db.session.add(c)
    registry.refresh_language_rank(trainee)
    db.session.commit()
    return c


def job(minimum="N4", rank=2) -> JobOrder:
    return JobOrder(min_language_level=minimum, min_language_rank=rank)


@pytest.mark.parametrize(("test", "level", "shown", "rank"), [
    ("JLPT", "N2", "JLPT N2", 4), ("JFT-Basic", "A2", "JFT-Basic A2", 2),
    ("NAT-TEST", "3Q", "NAT-TEST 3Q", 3), ("J.TEST", "準A", "J.TEST 準A", 4),
    ("TOPIK", "3", "TOPIK 3", 3), ("CEFR", "B1", "CEFR B1", 3),
])
def test_each_test_names_its_own_level(test, level, shown, rank):
    assert certificate_level_name(test, level) == shown
    assert certificate_rank(test, level) == rank


def test_a_jlpt_n2_certificate_shows_as_jlpt_n2_not_b2(app, make_trainee):
    with app.test_request_context("/?lang=en"):
        trainee = make_trainee(japanese_level="N4")
        cert(trainee, "JLPT", "N2")
        assert trainee.language_rank == 4  # ranking still reads the CEFR rank
        text, ok = language_comparison(trainee, job())
        assert (text, ok) == ("JLPT N2 ≥ N4 required ✓", True)
        assert "B2" not in text
        assert level_source(trainee) == "From the JLPT N2 certificate issued on Jul 6, 2025."


def test_a_declared_level_is_said_to_be_declared(app, make_trainee):
    with app.test_request_context("/?lang=en"):
        trainee = make_trainee(japanese_level="N5")
        assert language_comparison(trainee, job()) == (
            "N5 < N4 required: 1 level below", False)
        assert level_source(trainee) == ("Declared by the department; no certificate "
                                         "recorded at this level.")
        none = make_trainee(japanese_level="none")
        assert effective_level_label(none) == "None"
        assert level_source(none) == "No Japanese level declared and no certificate recorded."


def test_a_certificate_at_the_declared_level_is_named_and_cefr_levels_say_cefr(
        app, make_trainee):
    with app.test_request_context("/?lang=en"):
        trainee = make_trainee(japanese_level="N3")
        cert(trainee, "NAT-TEST", "3Q")
        assert effective_level_label(trainee) == "NAT-TEST 3Q"
        jft = make_trainee(japanese_level="none")
        cert(jft, "JFT-Basic", "A2")
        assert language_comparison(jft, job()) == ("JFT-Basic A2 ≥ N4 required ✓", True)
        assert language_comparison(jft, job("B1", 3))[0] == (
            "JFT-Basic A2 < CEFR B1 required: 1 level below")
        assert level_label("B1") == "CEFR B1"
        # A Korean certificate never counts for Japanese.
        korean = make_trainee(japanese_level="N5")
        cert(korean, "TOPIK", "6", language="ko")
        assert effective_level_label(korean) == "N5"


def test_j_test_and_topik_certificates_are_recorded_and_checked(app, make_trainee, make_user):
    with app.test_request_context("/?lang=en"):
        dept = make_user(role="department", province="nghe-an")
        trainee = make_trainee(japanese_level="N5")
        data = {"language": "ja", "test": "J.TEST", "level": "準a級", "issued_on": date(2025, 3, 1)}
        c = registry.add_certificate(trainee, data, dept)
        assert (c.level, c.cefr_rank, trainee.language_rank) == ("準A", 4, 4)
        with pytest.raises(RegistryError):
            registry.add_certificate(trainee, dict(data, level="G"), dept)
        topik = {"language": "ko", "test": "TOPIK", "level": "3", "issued_on": date(2025, 3, 1)}
        assert registry.add_certificate(trainee, topik, dept).level == "3"
        with pytest.raises(RegistryError):
            registry.add_certificate(trainee, dict(topik, level="7"), dept)
        with pytest.raises(RegistryError):  # TOPIK certifies Korean only
            registry.add_certificate(trainee, dict(topik, language="ja"), dept)


def test_the_trainee_page_names_the_level_and_its_source(client, make_user, login,
                                                         make_trainee):
    dept = make_user(role="department", province="nghe-an", locale="en")
    trainee = make_trainee(japanese_level="N4")
    login(dept)
    page = client.get(f"/trainees/{trainee.id}").get_data(as_text=True)
    assert "best level including certificates" not in page
    assert "Used for matching: N4" in page and "no certificate recorded" in page
    cert(trainee, "JLPT", "N2")
    page = client.get(f"/trainees/{trainee.id}").get_data(as_text=True)
    assert "Used for matching: JLPT N2" in page
    assert "From the JLPT N2 certificate issued on" in page


@pytest.mark.parametrize(("locale", "words"), [
    ("vi", ("JLPT N2 ≥ N4 yêu cầu ✓", "Theo chứng chỉ JLPT N2")),
    ("ja", ("JLPT N2 ≥ 必要レベル N4 ✓", "JLPT N2証明書による")),
])
def test_the_card_and_profile_say_it_in_the_readers_language(
        client, make_user, make_trainee, login, locale, words):
    employer = make_user(role="employer", locale=locale)
    order = JobOrder(external_id="JO-CERT-1", employer_id=employer.organisation_id,
                     title="Care worker", field="nursing_care", required_skills="",
                     preferred_skills="", min_language_level="N4", min_language_rank=2,
                     headcount=1, prefecture="osaka", visa_track="SSW1", status="open")
    db.session.add(order)
    db.session.commit()
    trainee = make_trainee(field="nursing_care", japanese_level="N4")
    cert(trainee, "JLPT", "N2")
    login(employer)
    page = client.get(f"/jobs/{order.id}/candidates").get_data(as_text=True)
    for word in words:
        assert word in page
    assert ">B2<" not in page
