"""Form messages in the reader's language, next to the fields (issue 10 §5), in Chromium
under the strict CSP.

The forms carry ``required``, ``type=email`` and ``minlength``, so Chromium would stop an
empty form before it leaves; each test turns that off (``noValidate``, as an older browser
or a tampered request would) to see what the server answers."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import log_in


def _submit_without_browser_checks(page):
    form = page.locator("main form", has=page.locator("[type=submit]")).first
    form.evaluate("f => { f.noValidate = true; }")
    form.locator("[type=submit]").click()


def _error_of(page, field_id: str):
    """The message next to ``field_id``, which the field names as its description."""
    expect(page.locator(f"#{field_id}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{field_id}")).to_have_attribute("aria-describedby",
                                                           f"{field_id}-errors")
    return page.locator(f"#{field_id}-errors")


def test_an_empty_trainee_form_answers_in_vietnamese(page, make_user):
    officer = make_user(role="department", province="nghe-an", locale="vi")
    log_in(page, officer.email, PASSWORD)
    page.goto("/trainees/new")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.fill("#external_id", "")
    page.fill("#full_name", "")
    page.fill("#date_of_birth", "")
    page.select_option("#field", "")
    _submit_without_browser_checks(page)

    expect(page.locator("main [role=alert]")).to_have_text(
        "Vui lòng sửa các trường được đánh dấu dưới đây.")
    expect(_error_of(page, "external_id")).to_have_text("Vui lòng nhập mã học viên.")
    expect(_error_of(page, "full_name")).to_have_text("Vui lòng nhập họ và tên học viên.")
    expect(_error_of(page, "date_of_birth")).to_have_text("Vui lòng nhập ngày sinh.")
    expect(_error_of(page, "field")).to_have_text("Vui lòng chọn ngành nghề.")
    main = page.locator("main")
    for english in ("Enter the", "Choose a", "This field is required", "Not a valid"):
        expect(main).not_to_contain_text(english)


def test_wtforms_own_messages_answer_in_vietnamese_and_japanese(page, make_user):
    """The admin's new-user form relies on WTForms' built-in messages (no message of ours):
    a missing role, a bad e-mail address, a short password."""
    admin = make_user(role="admin", locale="vi")
    log_in(page, admin.email, PASSWORD)
    expected = {
        "vi": ("Mục này không được để trống.", "Địa chỉ email không hợp lệ.",
               "Vui lòng nhập ít nhất 8 ký tự."),
        "ja": ("この項目は必須です。", "メールアドレスの形式が正しくありません。",
               "8文字以上で入力してください。"),
    }
    for lang, (required, email, short) in expected.items():
        page.goto(f"/admin/users/new?lang={lang}")
        if lang == "ja":  # the saved preference wins over ?lang=: switch as a user would
            page.click("form.lang-switch button[value=ja]")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        page.fill("#email", "not-an-address")
        page.fill("#password", "short")
        page.locator("#role").evaluate("s => { s.value = ''; }")
        _submit_without_browser_checks(page)

        expect(_error_of(page, "role")).to_have_text(required)
        expect(_error_of(page, "email")).to_have_text(email)
        expect(_error_of(page, "password")).to_have_text(short)
        main = page.locator("main")
        for english in ("This field is required", "Invalid email address",
                        "Field must be at least"):
            expect(main).not_to_contain_text(english)
