"""The skill picker, with the keyboard only: an HR manager in Osaka posts a job order in
Japanese (type, arrow, Enter), and the saved job order shows the skills by their labels."""

from datetime import date, timedelta

from playwright.sync_api import expect

from matching.extensions import db
from matching.models import JobOrder
from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in


def test_skills_are_chosen_with_the_keyboard(page, make_user):
    employer = make_user(role="employer", locale="ja", email="jinji@osaka.example")
    log_in(page, employer.email, PASSWORD)
    page.goto("/jobs/new")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.fill("#title", "介護職員")
    page.select_option("#field", "nursing_care")
    page.select_option("#prefecture", "osaka")
    page.fill("#start_date", (date.today() + timedelta(days=90)).isoformat())

    # The text input is replaced by a combobox; the label now points at it.
    search = page.locator("#required_skills-search")
    expect(page.locator("#required_skills")).to_be_hidden()
    expect(search).to_have_attribute("role", "combobox")

    # Type, then Enter: the first match is chosen (a Japanese label).
    search.press_sequentially("入浴")
    options = page.locator("#required_skills-options [role=option]")
    expect(options.first).to_have_text("入浴介助")
    search.press("Enter")
    expect(page.locator("#required_skills")).to_have_value("bathing-assistance")

    # Typed in Vietnamese without marks, the options are still the field's skills in
    # Japanese; ArrowDown moves, Enter chooses the highlighted one.
    search.press_sequentially("ho tro")
    expect(search).to_have_attribute("aria-expanded", "true")
    first = options.nth(0).inner_text()
    second = options.nth(1).inner_text()
    search.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", "required_skills-options-1")
    search.press("Enter")
    tags = page.locator(".skill-picker .skill-tags li")
    expect(tags).to_have_count(2)
    expect(tags.nth(1)).to_contain_text(second)
    assert first != second

    # A skill of another field is offered only when named exactly.
    search.press_sequentially("溶接")
    expect(options).to_have_count(1)
    expect(options.first).to_have_text("溶接")  # named exactly: offered, though of another field
    search.press("Escape")
    expect(page.locator("#required_skills-options")).to_be_hidden()
    search.fill("")

    # Backspace in the empty box removes the last skill.
    search.press("Backspace")
    expect(tags).to_have_count(1)
    expect(page.locator("#required_skills")).to_have_value("bathing-assistance")

    # The preferred skills have their own picker.
    preferred = page.locator("#preferred_skills-search")
    preferred.press_sequentially("kouku")  # nothing matches: Enter adds it as typed
    preferred.press("Enter")
    expect(page.locator("#preferred_skills")).to_have_value("kouku")

    page.click("#submit")
    expect(page.locator("h1")).to_contain_text("介護職員")
    main = page.locator("main")
    expect(main).to_contain_text("入浴介助")
    expect(main).to_contain_text("kouku")
    db.session.expire_all()
    job = db.session.query(JobOrder).filter_by(title="介護職員").one()
    assert job.required_skills == "bathing-assistance"
    assert job.preferred_skills == "kouku"
