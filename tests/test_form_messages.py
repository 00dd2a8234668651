"""WTForms' and Flask-WTF's own validation messages speak the reader's language (issue 10 §5).

WTForms ships no Vietnamese: without ``BaseForm``'s Meta, "This field is required." would
show in English on a Vietnamese page. These tests submit forms with errors in vi and ja,
and check that every message WTForms and Flask-WTF can show is in both catalogues."""

import ast
from pathlib import Path

import flask_wtf
import pytest
import wtforms
from babel.messages.pofile import read_po
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from matching.config import PROJECT_ROOT
from matching.web.form_messages import MESSAGES, PLURAL_MESSAGES
from matching.web.forms import BaseForm

#: What WTForms and Flask-WTF can say that no user can cause: a programming error
#: (``TypeError``) and a developer's mistake in an ``EqualTo``.
NOT_FOR_USERS = {"Choices cannot be None.", "Invalid field name '%s'."}

#: The English message, then the Vietnamese and the Japanese a reader sees instead.
EXPECTED = {
    "required": ("This field is required.", "Mục này không được để trống.",
                 "この項目は必須です。"),
    "email": ("Invalid email address.", "Địa chỉ email không hợp lệ.",
              "メールアドレスの形式が正しくありません。"),
    "short": ("Field must be at least 8 characters long.", "Vui lòng nhập ít nhất 8 ký tự.",
              "8文字以上で入力してください。"),
    "integer": ("Not a valid integer value.", "Vui lòng nhập số nguyên.",
                "整数を入力してください。"),
    "date": ("Not a valid date value.", "Vui lòng nhập ngày hợp lệ.",
             "有効な日付を入力してください。"),
    "choice": ("Not a valid choice.", "Vui lòng chọn một giá trị trong danh sách.",
               "一覧から選択してください。"),
    "csrf": ("The CSRF token is missing.", "Biểu mẫu thiếu mã bảo mật.",
             "フォームの確認情報がありません。"),
}
LOCALES = [("vi", 1), ("ja", 2)]


def _catalogue(locale: str):
    path = PROJECT_ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _builtin_messages() -> tuple[set[str], set[tuple[str, str]]]:
    """Every literal msgid in WTForms' and Flask-WTF's ``gettext``/``ngettext`` calls, and
    Flask-WTF's CSRF messages (raised as plain strings in ``validate_csrf``)."""
    singular, plural = set(), set()
    sources = [*Path(wtforms.__file__).parent.rglob("*.py"),
               *(Path(flask_wtf.__file__).parent / name for name in ("csrf.py", "file.py"))]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            args = [_literal(arg) for arg in node.args]
            if name == "gettext" and args and args[0]:
                singular.add(args[0])
            elif name == "ngettext" and len(args) >= 2 and args[0] and args[1]:
                plural.add((args[0], args[1]))
            elif (name == "ValidationError" and path.name == "csrf.py" and args
                  and args[0]):
                singular.add(args[0])
    return singular - NOT_FOR_USERS, plural


def test_the_list_holds_every_builtin_message():
    """A WTForms or Flask-WTF upgrade that adds a message fails here, not on a user's page."""
    singular, plural = _builtin_messages()
    assert len(singular) > 30 and len(plural) == 4  # the scan itself works
    assert singular - set(MESSAGES) == set()
    assert plural - set(PLURAL_MESSAGES) == set()


@pytest.mark.parametrize("locale", ["vi", "ja"])
def test_every_builtin_message_is_translated(locale):
    catalogue = _catalogue(locale)
    problems = []
    for msgid in [*MESSAGES, *PLURAL_MESSAGES]:
        message = catalogue.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif isinstance(msgid, tuple) != isinstance(message.string, tuple):
            problems.append(f"plural forms: {msgid!r}")
        else:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings) or any(s in (msgid if isinstance(msgid, tuple) else (msgid,))
                                       for s in strings):
                problems.append(f"untranslated: {msgid!r}")
    assert problems == []


def test_every_form_uses_the_project_catalogues(app):
    """A form deriving from FlaskForm directly would fall back to WTForms' catalogues."""
    forms, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("matching."):
            forms.append(cls)
    assert len(forms) > 20  # the blueprints' forms are imported by the factory
    strays = sorted(f"{cls.__module__}.{cls.__name__}" for cls in forms
                    if not issubclass(cls, BaseForm))
    assert strays == []


class _EveryKind(BaseForm):
    name = StringField(validators=[DataRequired()])
    email = EmailField(validators=[Email()])
    password = PasswordField(validators=[Length(min=8)])
    count = IntegerField()
    day = DateField()
    colour = SelectField(choices=[SelectChoice("red", "Red"), SelectChoice("blue", "Blue")])


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_builtin_messages_in_the_readers_language(app, locale, index):
    data = {"name": "", "email": "not-an-address", "password": "short", "count": "many",
            "day": "31/02/2026", "colour": "green"}
    with app.test_request_context(f"/?lang={locale}", method="POST", data=data):
        form = _EveryKind()
        assert not form.validate()
        errors = {name: " ".join(map(str, messages)) for name, messages in form.errors.items()}
    for field, key in [("name", "required"), ("email", "email"), ("password", "short"),
                       ("count", "integer"), ("day", "date"), ("colour", "choice")]:
        assert errors[field] == EXPECTED[key][index], field


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_the_form_csrf_check_speaks_the_readers_language(app_config, app, locale, index):
    """CSRFProtect answers first on a POST; a form checked without it says the same."""
    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context(f"/?lang={locale}", method="POST", data={"name": "x"}):
        form = _EveryKind()
        form.validate()
        assert form.csrf_token.errors[0].startswith(EXPECTED["csrf"][index])


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_the_admin_user_form_in_the_readers_language(client, make_user, login, locale, index):
    """Missing name of the role, a bad e-mail, a short password, a role not in the list."""
    admin = make_user(role="admin", locale=locale)
    login(admin)
    html = client.post("/admin/users/new", data={
        "email": "not-an-address", "password": "short", "role": "emperor",
        "organisation": str(admin.organisation_id)}).get_data(as_text=True)
    for key in ("email", "short", "choice"):
        english, *translated = EXPECTED[key]
        assert translated[index - 1] in html, key
        assert english not in html, key


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_a_missing_login_address_in_the_readers_language(client, locale, index):
    html = client.post(f"/auth/login?lang={locale}",
                       data={"email": "", "password": ""}).get_data(as_text=True)
    english, *translated = EXPECTED["required"]
    assert translated[index - 1] in html and english not in html


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_a_bad_login_address_in_the_readers_language(client, locale, index):
    html = client.post(f"/auth/login?lang={locale}",
                       data={"email": "nobody", "password": "x"}).get_data(as_text=True)
    english, *translated = EXPECTED["email"]
    assert translated[index - 1] in html and english not in html


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_a_bad_number_of_days_in_the_readers_language(client, make_user, login, locale,
                                                      index):
    login(make_user(role="admin", locale=locale))
    html = client.get("/admin/fairness?days=many").get_data(as_text=True)
    english, *translated = EXPECTED["integer"]
    assert translated[index - 1] in html and english not in html


@pytest.mark.parametrize(("locale", "index"), LOCALES)
def test_a_short_new_password_in_the_readers_language(client, make_user, login, locale,
                                                      index):
    from tests.conftest import PASSWORD

    login(make_user(role="department", locale=locale))
    html = client.post("/auth/password", data={
        "current": PASSWORD, "new": "short", "confirm": "short"}).get_data(as_text=True)
    english, *translated = EXPECTED["short"]
    assert translated[index - 1] in html and english not in html
