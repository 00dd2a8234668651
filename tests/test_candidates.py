"""Employer review: ranked anonymised cards, blind profiles, impressions, the rirekisho."""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from matching.extensions import db
from matching.labels import FEATURE_LABELS
from matching.models import Decision, Impression, JobOrder, Skill
from matching.operations.skills import ensure_skill_ids
from matching.ranking.features import FEATURES
from matching.ranking.model import PRIOR, LinearModel
from matching.ranking.pool import clear_memory_cache
from matching.ranking.service import model_store
from matching.references import candidate_ref
from matching.web.jobs import card_cache
from matching.web.jobs.cards import candidate_code

# What must never reach an employer before shortlisting (blind review).
NAME = "Trần Thị Bích Ngọc"
KANA = "チャン・ティ・ビック・ゴック"
SCHOOL = "Trường Trung cấp Nghề Buôn Ma Thuột"
PROVINCE_NAMES = ("Đắk Lắk", "Dak Lak", "ダクラク")
EMAIL, PHONE = "ngoc.tran@example.vn", "+84 912 345 678"


@pytest.fixture(autouse=True)
def _fresh_pool_cache():
    clear_memory_cache()  # tests share one database URL: never reuse another test's pool
    yield
    clear_memory_cache()


def skills(*slugs) -> list[Skill]:
    ids = ensure_skill_ids(slugs)
    db.session.commit()
    return [db.session.get(Skill, ids[s]) for s in slugs]


@pytest.fixture
def review(make_user, make_org, make_trainee):
    """An employer's open job order, its agency, and three candidates (best first)."""
    agency = make_org(kind="agency")
    employer = make_user(role="employer", locale="en")
    job = JobOrder(external_id="JO-REVIEW-1", employer_id=employer.organisation_id,
                   agency_id=agency.id, title="Food line worker", field="food_manufacturing",
                   required_skills="haccp;food-hygiene", preferred_skills="packaging",
                   min_language_level="N4", min_language_rank=2, headcount=2,
                   prefecture="aichi", start_date=date(2026, 10, 1), visa_track="SSW1")
    db.session.add(job)
    db.session.commit()
    best = make_trainee(full_name=NAME, name_kana=KANA, date_of_birth=date(1999, 7, 23),
                        gender="F", province="dak-lak", school=SCHOOL,
                        field="food_manufacturing", japanese_level="N3", training_hours=800,
                        experience_years=3, email=EMAIL, phone=PHONE,
                        skills=skills("food-hygiene", "haccp", "packaging"))
    middle = make_trainee(field="food_manufacturing", japanese_level="N4",
                          skills=skills("haccp"), training_hours=300)
    weak = make_trainee(field="construction", japanese_level="N5", skills=skills("welding"),
                        available_from=date(2026, 12, 1))
    return employer, job, [best, middle, weak]


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def assert_blind(text: str) -> None:
    """None of the hidden candidate's personal data is in ``text``."""
    for secret in (NAME, KANA, SCHOOL, EMAIL, PHONE, "1999", "Female", "女性", "Nữ",
                   *PROVINCE_NAMES):
        assert secret not in text, secret


def card_codes(text: str) -> list[str]:
    return [part.split('"', 1)[0] for part in text.split('data-code="')[1:]]


# -- the page ----------------------------------------------------------------------------------


def test_cards_are_ranked_and_explained(client, login, review):
    employer, job, (best, middle, weak) = review
    login(employer)
    text = html(client.get(f"/jobs/{job.id}/candidates"))
    assert card_codes(text) == [candidate_code(job.id, t.id) for t in (best, middle, weak)]
    assert "Ranked by the expert prior (no model trained yet)." in text
    assert "3 candidates in the pool." in text
    assert "Selected: 0 / headcount 2" in text
    # Required skills matched / missing, preferred matched; Japanese against the minimum.
    # Skills by their labels in the reader's language (the codes stay in exports).
    assert "✓ HACCP-based hygiene control" in text and "✗ Food hygiene" in text
    assert "★ Packaging" in text
    assert "N3 ≥ N4 required ✓" in text and "N5 &lt; N4 required: 1 level below" in text
    assert "61 days after the start date" in text  # 2026-12-01 vs 2026-10-01
    # The contributions chart, with translated labels and both colours.
    assert "Required skills" in text and "Levels below the minimum Japanese level" in text
    assert 'class="pos"' in text and 'class="neg"' in text
    assert "Food manufacturing" in text or "food" in text.lower()


def test_pages_of_twenty(client, login, review, make_trainee):
    employer, job, _ = review
    for _n in range(22):
        make_trainee(field="agriculture", japanese_level="none")
    login(employer)
    first = html(client.get(f"/jobs/{job.id}/candidates"))
    second = html(client.get(f"/jobs/{job.id}/candidates?page=2"))
    assert len(card_codes(first)) == 20 and len(card_codes(second)) == 5
    assert not set(card_codes(first)) & set(card_codes(second))
    assert "#21" in second and "#25" in second and "#20" not in second
    assert "25 candidates in the pool." in first


def test_a_learned_model_says_so(client, login, review):
    employer, job, _ = review
    learned = LinearModel(PRIOR.weights * 0.5, kind="learned", alpha=1.0, n_decisions=42,
                          n_job_orders=9)
    version = model_store().save(learned, note="test")
    login(employer)
    text = html(client.get(f"/jobs/{job.id}/candidates"))
    assert f"Ranked by model version {version}, learned from 42 decisions." in text
    blend = LinearModel(PRIOR.weights, kind="blend", alpha=0.25, n_decisions=1200,
                        n_job_orders=7)
    version = model_store().save(blend, note="test")
    text = html(client.get(f"/jobs/{job.id}/candidates"))
    assert (f"Ranked by model version {version}: a blend of the expert prior and a model "
            "learned from 1,200 decisions (α = 0.25).") in text
    single = LinearModel(PRIOR.weights * 0.5, kind="learned", alpha=1.0, n_decisions=1,
                         n_job_orders=1)
    version = model_store().save(single, note="test")
    text = html(client.get(f"/jobs/{job.id}/candidates"))
    assert f"Ranked by model version {version}, learned from 1 decision." in text


def test_an_empty_pool(client, login, review):
    employer, job, trainees = review
    for trainee in trainees:
        trainee.status = "deployed"
    db.session.commit()
    login(employer)
    text = html(client.get(f"/jobs/{job.id}/candidates?page=3"))
    assert "0 candidates in the pool." in text
    assert "No candidate is available for this job order right now." in text


def test_every_ranking_feature_has_a_translated_label():
    assert set(FEATURE_LABELS) == set(FEATURES)


def test_candidate_codes_are_stable_per_job_and_keyed(app, review):
    _, job, (best, *_rest) = review
    code = candidate_code(job.id, best.id)
    assert code == candidate_code(job.id, best.id) and code.startswith("C-") and len(code) == 8
    assert code != candidate_code(job.id + 1, best.id)
    app.config["SECRET_KEY"] = "another key"
    assert candidate_code(job.id, best.id) != code


# -- blind review ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "ja", "vi"])
def test_blind_until_shortlisted(client, login, review, locale):
    employer, job, (best, *_rest) = review
    employer.locale = locale
    db.session.commit()
    login(employer)
    profile_url = f"/jobs/{job.id}/candidates/{candidate_ref(job.id, best.id)}"
    assert_blind(html(client.get(f"/jobs/{job.id}/candidates")))
    hidden_profile = html(client.get(profile_url))
    assert_blind(hidden_profile)
    assert candidate_code(job.id, best.id) in hidden_profile
    assert client.get(profile_url + "/rirekisho.pdf").status_code == 404

    client.post(f"{profile_url}/decision", data={"decision": "shortlisted"})

    assert NAME in html(client.get(f"/jobs/{job.id}/candidates"))
    shown = html(client.get(profile_url))
    for visible in (NAME, KANA, SCHOOL, EMAIL, PHONE, "1999"):
        assert visible in shown, visible
    assert PROVINCE_NAMES[{"vi": 0, "en": 1, "ja": 2}[locale]] in shown


def test_rirekisho_of_a_shortlisted_candidate(client, login, review):
    employer, job, (best, *_rest) = review
    login(employer)
    url = f"/jobs/{job.id}/candidates/{candidate_ref(job.id, best.id)}"
    client.post(f"{url}/decision", data={"decision": "shortlisted"})
    response = client.get(f"{url}/rirekisho.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.get_data()
    response.close()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "TRAN THI BICH NGOC" in text


def test_rejecting_after_shortlisting_hides_the_candidate_again(client, login, review):
    employer, job, (best, *_rest) = review
    login(employer)
    url = f"/jobs/{job.id}/candidates/{candidate_ref(job.id, best.id)}"
    client.post(f"{url}/decision", data={"decision": "shortlisted"})
    assert NAME in html(client.get(url))
    client.post(f"{url}/decision", data={"decision": "rejected"})

    assert_blind(html(client.get(url)))
    assert client.get(f"{url}/rirekisho.pdf").status_code == 404
    code = candidate_code(job.id, best.id)
    default = html(client.get(f"/jobs/{job.id}/candidates"))
    assert code not in card_codes(default)  # "hide rejected" is on by default
    assert "1 rejected candidate is hidden." in default
    shown = html(client.get(f"/jobs/{job.id}/candidates?rejected=show"))
    assert card_codes(shown)[0] == code and 'badge decision-rejected' in shown
    assert_blind(shown)


# -- impressions -----------------------------------------------------------------------------------


def impressions() -> list[Impression]:
    return db.session.scalars(sa.select(Impression).order_by(Impression.id)).all()


def test_impressions_once_an_hour_and_opened(client, login, review, make_user):
    employer, job, trainees = review
    login(employer)
    client.get(f"/jobs/{job.id}/candidates")
    client.get(f"/jobs/{job.id}/candidates")  # a reload within the hour
    rows = impressions()
    assert len(rows) == 3
    assert [(r.trainee_id, r.rank, r.user_id) for r in rows] == [
        (t.id, i, employer.id) for i, t in enumerate(trainees, start=1)]
    assert all(r.model_version is None and r.opened_at is None for r in rows)

    for row in rows:  # an hour and more later, the cards count as shown again
        row.shown_at -= timedelta(hours=2)
    db.session.commit()
    client.get(f"/jobs/{job.id}/candidates")
    assert len(impressions()) == 6

    client.get(f"/jobs/{job.id}/candidates/{candidate_ref(job.id, trainees[1].id)}")
    opened = [r for r in impressions() if r.opened_at is not None]
    assert [(r.trainee_id, r.id) for r in opened] == [(trainees[1].id, max(
        r.id for r in impressions() if r.trainee_id == trainees[1].id))]

    client.post("/auth/logout")
    login(make_user(role="admin"))
    client.get(f"/jobs/{job.id}/candidates")
    client.get(f"/jobs/{job.id}/candidates/{candidate_ref(job.id, trainees[0].id)}")
    assert len(impressions()) == 6  # an administrator's look is not an impression
    assert sum(r.opened_at is not None for r in impressions()) == 1


@pytest.mark.parametrize("cards_kept", [True, False], ids=["cards kept", "cards afresh"])
def test_query_count_does_not_grow_with_the_cards(client, login, review, make_trainee,
                                                  count_queries, cards_kept):
    """Kept or not (a new worker, or every trainee just edited), the cards cost no query
    per card: made afresh they come from one read of the trainees."""
    from matching.web.jobs import card_cache

    employer, job, _ = review
    login(employer)
    url = f"/jobs/{job.id}/candidates"

    def measure() -> int:
        client.get(url)  # builds the pool cache and records the impressions
        if not cards_kept:
            card_cache.clear()
        with count_queries() as n:
            assert client.get(url).status_code == 200
        return n[0]

    few = measure()
    for _n in range(25):
        make_trainee(field="food_manufacturing", skills=skills("haccp", "forklift"))
    many = measure()
    assert many == few
    if cards_kept:
        assert few <= 12


# -- who may review -------------------------------------------------------------------------------


def test_only_the_job_orders_employer_reviews(client, login, review, make_user):
    employer, job, (best, *_rest) = review
    db.session.add(Decision(job_order_id=job.id, trainee_id=best.id, decision="shortlisted",
                            decided_by_id=employer.id))
    db.session.commit()
    ref = candidate_ref(job.id, best.id)
    urls = [f"/jobs/{job.id}/candidates", f"/jobs/{job.id}/candidates/{ref}",
            f"/jobs/{job.id}/candidates/{ref}/rirekisho.pdf"]
    login(make_user(role="employer"))  # another employer: the job order does not exist
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(urls[1] + "/decision", data={"decision": "rejected"}).status_code == 404
    client.post("/auth/logout")
    agency = make_user(role="agency", org=job.agency)
    login(agency)  # the agency reads the job order, not its candidates
    assert client.get(f"/jobs/{job.id}").status_code == 200
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 1


def test_a_trainee_outside_the_pool_is_not_a_candidate(client, login, review, make_trainee):
    employer, job, _ = review
    busy = make_trainee(status="in_process", field="food_manufacturing")
    private = make_trainee(consent=False, field="food_manufacturing")
    login(employer)
    for trainee in (busy, private):
        url = f"/jobs/{job.id}/candidates/{candidate_ref(job.id, trainee.id)}"
        assert client.get(url).status_code == 404
        assert client.post(url + "/decision", data={"decision": "shortlisted"}).status_code \
            == 404
    assert client.get(f"/jobs/{job.id}/candidates/{candidate_ref(job.id, 999999)}"
                      ).status_code == 404
    # A trainee's database id, or anything else that is not a reference, finds nobody.
    for bad in (str(review[2][0].id), "0", "x" * 13, "aaaaaaaaaaaaa", "%00", "9" * 30):
        assert client.get(f"/jobs/{job.id}/candidates/{bad}").status_code == 404


def test_review_is_blind_per_job_order(client, login, make_user, make_trainee):
    """Shortlisted for one job order, a trainee is still anonymous on another's candidates."""

    employer = make_user(role="employer")
    jobs = []
    for n in (1, 2):
        job = JobOrder(external_id=f"BLIND-{n}", employer_id=employer.organisation_id,
                       title=f"Line worker {n}", field="food_manufacturing", headcount=3,
                       visa_track="SSW1", status="open")
        db.session.add(job)
        jobs.append(job)
    trainee = make_trainee(full_name="Phạm Thị Blind", field="food_manufacturing",
                           province="ca-mau")
    db.session.flush()
    db.session.add(Decision(job_order_id=jobs[0].id, trainee_id=trainee.id,
                            decision="shortlisted", decided_by_id=employer.id))
    db.session.commit()
    login(employer)
    first = client.get(f"/jobs/{jobs[0].id}/candidates").get_data(as_text=True)
    assert "Phạm Thị Blind" in first
    second = client.get(f"/jobs/{jobs[1].id}/candidates").get_data(as_text=True)
    assert "Phạm Thị Blind" not in second
    second_url = f"/jobs/{jobs[1].id}/candidates/{candidate_ref(jobs[1].id, trainee.id)}"
    profile = client.get(second_url).get_data(as_text=True)
    assert "Phạm Thị Blind" not in profile and "Cà Mau" not in profile
    assert client.get(second_url + "/rirekisho.pdf").status_code == 404
    first_url = f"/jobs/{jobs[0].id}/candidates/{candidate_ref(jobs[0].id, trainee.id)}"
    assert client.get(first_url + "/rirekisho.pdf").status_code == 200
    # The reference of one job order opens nothing on another (no id to carry across).
    assert client.get(f"/jobs/{jobs[1].id}/candidates/{candidate_ref(jobs[0].id, trainee.id)}"
                      ).status_code == 404
    assert f"/candidates/{trainee.id}" not in profile


def test_a_page_far_beyond_the_list_is_the_last_page(client, login, review, make_trainee,
                                                     monkeypatch):
    """Page 99,999,999 (or 10**30) is clamped before ranking, and only that page's cards are
    explained: not one explanation per candidate before it (issue 8, item 8)."""
    from matching.ranking import service

    employer, job, _ = review
    for _n in range(22):
        make_trainee(field="agriculture", japanese_level="none")
    explained = []
    real = service.explain_ranked

    def counting(model, pool, spec, ranked):
        explained.append(len(ranked.ids))
        return real(model, pool, spec, ranked)

    monkeypatch.setattr(service, "explain_ranked", counting)
    login(employer)
    for page in ("99999999", str(10**30)):
        card_cache.clear()  # rank afresh: a kept ranking explains nothing at all
        response = client.get(f"/jobs/{job.id}/candidates?page={page}")
        assert response.status_code == 200
        text = html(response)
        assert len(card_codes(text)) == 5 and "#21" in text and "#25" in text
    assert explained == [5, 5]
