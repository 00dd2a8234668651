"""A department officer registers a trainee in Vietnamese and finds them again."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in


def test_department_registers_and_finds_trainee(page, make_user):
    officer = make_user(role="department", province="nghe-an", email="can.bo@nghean.example")

    # The browser asks for English; the officer switches the site to Vietnamese.
    log_in(page, officer.email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("form.lang-switch button[value=vi]")
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    page.goto("/trainees/new")
    expect(page.locator("h1")).to_contain_text("Đăng ký")
    page.fill("#external_id", "NA-E2E-001")
    page.fill("#full_name", "Nguyễn Thị Ánh Tuyết")
    page.fill("#date_of_birth", "2001-03-15")
    page.select_option("#gender", "F")
    page.select_option("#field", "nursing_care")
    # The skill picker: typed without diacritics, chosen with Enter.
    for typed in ("sa sut tri tue", "ho tro an"):
        page.fill("#skills-search", typed)
        page.press("#skills-search", "Enter")
    expect(page.locator("#skills")).to_have_value("dementia-care; meal-assistance")
    page.select_option("#japanese_level", "N4")
    page.fill("#training_hours", "640")
    page.fill("#school", "Trường Cao đẳng Y tế Nghệ An")
    page.click("main form [type=submit]")

    # Saved: the trainee page shows the name exactly as typed and the skills in Vietnamese.
    expect(page.locator("h1")).to_contain_text("Nguyễn Thị Ánh Tuyết")
    expect(page.locator("main")).to_contain_text("Chăm sóc người sa sút trí tuệ")
    expect(page.locator("main")).to_contain_text("Điều dưỡng")

    # A search typed without diacritics finds her.
    page.goto("/trainees/")
    page.fill("#q", "nguyen thi anh tuyet")
    page.press("#q", "Enter")
    row = page.locator("table tbody tr", has_text="NA-E2E-001")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nguyễn Thị Ánh Tuyết")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
