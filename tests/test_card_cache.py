"""The candidate page's card cache (``web.jobs.card_cache``): a page from kept cards is the
page rendered afresh, and whatever a card shows changing (the trainee, a decision, the
reader's language) renders it again."""

import re
from datetime import date

import pytest

from matching.extensions import db
from matching.models import JobOrder, Trainee
from matching.operations import registry
from matching.operations.decisions import record_decision
from matching.ranking.pool import clear_memory_cache
from matching.web.jobs import card_cache

_CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


@pytest.fixture(autouse=True)
def _fresh_caches():
    clear_memory_cache()
    card_cache.clear()
    yield
    clear_memory_cache()
    card_cache.clear()


@pytest.fixture
def page(make_user, make_trainee, client, login):
    employer = make_user(role="employer", locale="en")
    job = JobOrder(external_id="JO-CACHE-1", employer_id=employer.organisation_id,
                   title="Welder", field="construction", required_skills="",
                   min_language_level="none", min_language_rank=0, headcount=2,
                   start_date=date(2026, 10, 1), visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    trainees = [make_trainee(field="construction", experience_years=i, training_hours=100 * i)
                for i in range(1, 4)]
    login(employer)

    def get(query: str = "") -> str:
        response = client.get(f"/jobs/{job.id}/candidates{query}")
        assert response.status_code == 200, response.status_code
        return _CSRF.sub('name="csrf_token" value=""', response.get_data(as_text=True))

    return get, job, employer, trainees


def test_a_page_from_kept_cards_is_the_page_rendered_afresh(page):
    get, _job, employer, _trainees = page
    fresh = get()
    assert "candidate-card" in fresh
    assert get() == fresh  # every card from the cache now
    card_cache.clear()
    assert get() == fresh
    set_locale(employer, "vi")  # another language, other cards
    vietnamese = get()
    assert "Cơ sở tính điểm" in vietnamese and "Cơ sở tính điểm" not in fresh
    card_cache.clear()
    assert get() == vietnamese
    set_locale(employer, "en")
    assert get() == fresh


def set_locale(user, locale: str) -> None:
    db.session.get(type(user), user.id).locale = locale
    db.session.commit()


def test_the_decision_forms_carry_the_request_s_own_token(page, client):
    get, job, _employer, _trainees = page
    get()
    response = client.get(f"/jobs/{job.id}/candidates")
    tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', response.get_data(as_text=True)))
    assert len(tokens) == 1 and "placeholder" not in tokens.pop()


def test_a_changed_trainee_is_shown_changed(page, make_user):
    get, _job, _employer, trainees = page
    before = get()
    admin = make_user(role="admin")
    trainee = db.session.get(Trainee, trainees[0].id)
    registry.update_trainee(trainee, {"experience_years": 7.5}, admin)
    db.session.commit()
    after = get()
    assert after != before and "7.5" in after
    card_cache.clear()
    clear_memory_cache()
    assert get() == after


def test_a_decision_is_shown_at_once(page):
    get, job, employer, trainees = page
    get()
    record_decision(job, db.session.get(Trainee, trainees[2].id), "shortlisted", employer)
    db.session.commit()
    after = get()
    assert trainees[2].full_name in after  # shortlisted: revealed
    card_cache.clear()
    assert get() == after


def test_kept_numbers_are_formatted_as_babel_formats_them(app):
    from flask_babel import force_locale, format_decimal

    from matching.i18n import fmt_number

    values = (0.0, -0.0, 0.004, -0.005, 1.5, -1.25, 1234567.891, 3, -7, 10**9)
    with app.test_request_context():
        for locale in ("vi", "ja", "en"):
            with force_locale(locale):
                for value in values:
                    for digits in (None, 0, 2):
                        pattern = None if digits is None else "#,##0" + (
                            "." + "0" * digits if digits else "")
                        expected = format_decimal(value, format=pattern)
                        assert fmt_number(value, digits) == expected  # formatted
                        assert fmt_number(value, digits) == expected  # kept


def test_a_kept_page_survives_registrations_that_cannot_move_it_and_only_those(
        make_user, make_trainee, client, login, monkeypatch):
    """After each random registration the page (and the next) is the page ranked afresh
    over the same pool; most registrations elsewhere in the registry are checked on the
    changed trainees alone instead of ranking the pool again."""
    import random

    from matching.ranking import service
    from matching.web.jobs import candidates

    rng = random.Random(11)
    employer = make_user(role="employer", locale="en")
    admin = make_user(role="admin")
    job = JobOrder(external_id="JO-CARRY-1", employer_id=employer.organisation_id,
                   title="Welder", field="construction", required_skills="welding",
                   min_language_level="N4", min_language_rank=2, language_is_hard=True,
                   headcount=2, start_date=date(2027, 3, 1), visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    levels = ["N5", "N4", "N3", "N2"]  # a quarter fall below the hard N4 minimum
    people = [make_trainee(field=rng.choice(["construction", "manufacturing"]),
                           experience_years=rng.randint(0, 8),
                           training_hours=rng.randint(0, 900),
                           japanese_level=rng.choice(levels)) for _ in range(45)]
    login(employer)
    ranked_afresh = []
    real = service.rank_job
    monkeypatch.setattr(candidates, "rank_job",
                        lambda *a, **k: ranked_afresh.append(1) or real(*a, **k))

    def order(query: str) -> list[str]:
        html = client.get(f"/jobs/{job.id}/candidates{query}").get_data(as_text=True)
        refs = re.findall(r'href="/jobs/\d+/candidates/([a-z0-9]{13})"', html)
        return list(dict.fromkeys(refs))  # each card links its reference twice

    def both_pages() -> list[list[str]]:
        return [order(""), order("?page=2")]

    carried = 0
    both_pages()
    for step in range(30):
        trainee = db.session.get(Trainee, rng.choice(people).id)
        change = step % 5
        if change == 0:
            values = {"experience_years": rng.randint(0, 9)}
        elif change == 1:
            values = {"japanese_level": rng.choice(levels)}
        elif change == 2:
            values = {"training_hours": rng.randint(0, 1200)}
        elif change == 3:
            values = {"field": rng.choice(["construction", "manufacturing", "agriculture"])}
        else:
            people.append(make_trainee(field="construction",
                                       experience_years=rng.randint(0, 9),
                                       japanese_level=rng.choice(levels)))
            values = None
        if values is not None:
            registry.update_trainee(trainee, values, admin)
            db.session.commit()
        before = len(ranked_afresh)
        pages = both_pages()
        carried += 2 - (len(ranked_afresh) - before)
        card_cache.clear()  # the same pool, ranked afresh
        assert both_pages() == pages, step
        assert len(pages[0]) == 20 and pages[1], pages
    assert carried >= 10, carried  # most registrations cost no new ranking
