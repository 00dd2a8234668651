"""Languages: complete catalogues, locale selection, localised formatting."""

from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from matching.config import PROJECT_ROOT
from matching.i18n import fmt_date, fmt_list, fmt_yen
from matching.labels import STAGE_LABELS, label

CATALOGUES = PROJECT_ROOT / "translations"


def _catalogue(locale: str):
    with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", ["vi", "ja"])
def test_catalogue_is_complete(locale):
    """Every msgid extracted from the code has a real, non-fuzzy translation."""
    with (CATALOGUES / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    catalogue = _catalogue(locale)
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id, message.context)
        if translated is None:
            problems.append(f"missing: {message.id!r}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not (all(translated.string) if isinstance(translated.string, tuple)
                  else translated.string):
            problems.append(f"untranslated: {message.id!r}")
    assert problems == [], f"{locale}: {len(problems)} problems, e.g. {problems[:10]}"


@pytest.mark.parametrize("locale", ["vi", "ja"])
def test_placeholders_survive_translation(locale):
    """A translation that drops or renames %(name)s would crash or mislead at run time."""
    import re

    pattern = re.compile(r"%\((\w+)\)[sd]")
    bad = []
    for message in _catalogue(locale):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(pattern.findall(ids[0]))
        for s in strings:
            if set(pattern.findall(s)) != wanted:
                bad.append(message.id)
    assert bad == []


def test_template_is_up_to_date(tmp_path):
    """The committed messages.pot holds every msgid the code and templates use."""
    from babel.messages.frontend import CommandLineInterface

    out = tmp_path / "fresh.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(PROJECT_ROOT / "babel.cfg"),
                                "-k", "_l", "-k", "_lp:1c,2", "-k", "Nn_:1,2",
                                "-o", str(out),
                                str(PROJECT_ROOT)])
    # A message is its id *and* its context: "Selected" (decision) and "Selected" (stage).
    with out.open("rb") as fh:
        fresh = {(m.context, m.id) for m in read_po(fh) if m.id}
    assert len(fresh) > 100  # the extraction itself works
    assert ("dispatch stage", "Selected") in fresh  # _lp is extracted with its context
    with (CATALOGUES / "messages.pot").open("rb") as fh:
        committed = {(m.context, m.id) for m in read_po(fh) if m.id}
    missing = fresh - committed
    example = sorted(missing, key=str)[:10]
    assert not missing, f"run `flask --app matching translate update`: {example}"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("vi", "Đăng nhập"), ("ja", "ログイン"), ("en", "Log in")],
)
def test_login_page_in_each_locale(client, lang, expected):
    html = client.get("/auth/login", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    assert expected in html


def test_default_locale_is_vietnamese(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="vi"' in html


def test_query_choice_is_remembered_in_a_cookie(client):
    response = client.get("/auth/login?lang=ja")
    assert '<html lang="ja"' in response.get_data(as_text=True)
    assert "lang=ja" in response.headers.get("Set-Cookie", "")
    html = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja"' in html  # the explicit choice beats Accept-Language


def test_saved_preference_wins(client, make_user, login):
    user = make_user(role="department", locale="ja")
    login(user)
    html = client.get("/", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert '<html lang="ja"' in html


def test_babel_formats_dates_and_yen_per_locale(app):
    with app.test_request_context():
        with force_locale("ja"):
            assert fmt_date(date(2026, 4, 1), "long") == "2026年4月1日"
            assert fmt_yen(215000) == "￥215,000"
        with force_locale("vi"):
            assert fmt_date(date(2026, 4, 1)) == "01/04/2026"
            assert fmt_date(date(2026, 4, 1), "short") == "01/04/2026"
            assert "215.000" in fmt_yen(215000)
        with force_locale("en"):
            assert fmt_yen(215000) == "¥215,000"


def test_the_first_stage_and_the_decision_are_told_apart(app):
    """Both "Selected" in English; Japanese names the stage 内定 and the decision 採用内定."""
    from matching.labels import DECISION_LABELS

    with app.test_request_context():
        with force_locale("ja"):
            assert label(STAGE_LABELS, "selected") == "内定"
            assert str(DECISION_LABELS["selected"]) == "採用内定"
        with force_locale("vi"):
            assert label(STAGE_LABELS, "selected") == "Trúng tuyển"
        with force_locale("en"):
            assert label(STAGE_LABELS, "selected") == str(DECISION_LABELS["selected"]) \
                == "Selected"


def test_lists_are_joined_per_locale(app):
    from markupsafe import Markup

    with app.test_request_context():
        with force_locale("ja"):
            assert fmt_list(["パスポート", "査証"]) == "パスポート、査証"
        with force_locale("vi"):
            assert fmt_list(["Hộ chiếu", "Visa", "Vé máy bay"]) == "Hộ chiếu, Visa và Vé máy bay"
        with force_locale("en"):
            # Plain text is escaped, markup (a macro's output) kept as it is.
            assert fmt_list(["<b>", Markup("<i>x</i>")]) == "&lt;b&gt; and <i>x</i>"


def test_every_template_has_no_untranslated_literal_title():
    """Page titles are the most visible strings: each template's title block is marked."""
    import re

    unmarked = []
    for path in Path(PROJECT_ROOT / "templates").rglob("*.html"):
        for block in re.findall(r"{% block title %}(.*?){% endblock %}", path.read_text()):
            if block.strip() and "_(" not in block and "{{" not in block:
                unmarked.append(str(path))
    assert unmarked == []


def test_lazy_messages_quoting_user_input_are_escaped(app):
    """An import error quoting a cell must not inject markup into the page."""
    from markupsafe import escape

    from matching.i18n import _l

    message = _l("Unknown province “%(value)s”.", value="<script>alert(1)</script>")
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ m }}").render(m=message)
        assert "<script>" not in rendered and "&lt;script&gt;" in rendered
        assert str(escape(message)) == rendered  # escaped exactly once, also via escape()
