"""Locale and time-zone selection and formatting helpers (DESIGN §8); the labels of stored
codes are in ``matching.labels``.

Locale order: the logged-in user's saved preference, then an explicit ``lang`` choice (query
string or cookie), then the browser's Accept-Language, then the default (vi). The choice is
cached in ``g`` for the request.

Time zone: the logged-in user's, else their organisation's (``matching.timezones``), else
``BABEL_DEFAULT_TIMEZONE``; outside a request (the CLI) UTC. Every stored time (naive UTC)
is shown through it, with the zone's label; calendar dates (birth, start) never shift.
"""

from datetime import date, datetime

from babel.lists import format_list
from flask import current_app, g, has_request_context, request
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
    gettext,
    pgettext,
    to_user_timezone,
)
from flask_babel.speaklater import LazyString
from flask_login import current_user
from jinja2 import Undefined
from markupsafe import Markup, escape

from matching.timezones import user_timezone, zone_label
from matching.vocab import field_name, prefecture_name, province_name
from matching.vocab.skills import skill_choices, skill_label

LANG_COOKIE = "lang"


class PlainLazyString(LazyString):
    """A lazily translated *plain-text* message: HTML-escaped when a template renders it.

    Flask-Babel's LazyString claims to be safe HTML (``__html__`` returns it unescaped), so
    a message quoting user input (an import error quoting a cell) would reach the page raw.
    Our messages never contain markup, so escaping them is always right.
    """

    def __html__(self) -> str:
        return str(escape(str(self)))


def _l(string: str, **variables) -> PlainLazyString:
    """``lazy_gettext`` for anything evaluated at import time or carried to a template."""
    return PlainLazyString(gettext, string, **variables)


def _lp(context: str, string: str, **variables) -> PlainLazyString:
    """``lazy_pgettext``: the same English word with a meaning of its own (``context``)."""
    return PlainLazyString(pgettext, context, string, **variables)

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "ja": "日本語", "en": "English"}

__all__ = ["_l", "_lp", "select_locale", "select_timezone", "remember_query_choice",
           "LANGUAGE_NAMES"]


def _valid(code: str | None) -> str | None:
    return code if code in current_app.config["LANGUAGES"] else None


def select_locale() -> str:
    if not has_request_context():
        # The CLI and other work outside a request speak the source language.
        return "en"
    if "locale" in g:
        return g.locale
    locale = None
    if current_user and current_user.is_authenticated:
        locale = _valid(current_user.locale)
    if locale is None and request:
        locale = _valid(request.args.get("lang")) or _valid(request.cookies.get(LANG_COOKIE))
        if locale is None:
            locale = request.accept_languages.best_match(current_app.config["LANGUAGES"])
    g.locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    return g.locale


def select_timezone() -> str:
    """Flask-Babel's timezone selector (cached by Flask-Babel for the request)."""
    if not has_request_context():
        # The CLI and other work outside a request write machine output: UTC.
        return "UTC"
    if current_user and current_user.is_authenticated:
        return user_timezone(current_user)
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def timezone_code() -> str:
    """The IANA name of the zone this request shows times in."""
    return str(get_timezone())


def remember_query_choice(response):
    """A ``?lang=xx`` link is an explicit choice: keep it in a cookie for later requests."""
    chosen = _valid(request.args.get("lang"))
    if chosen:
        set_lang_cookie(response, chosen)
    return response


def set_lang_cookie(response, locale: str) -> None:
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)


def locale_code() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


#: Vietnamese administrative documents write dates as 01/04/2026, not CLDR's "1 thg 4, 2026".
_VI_DATE = "dd/MM/yyyy"


def _blank(value) -> bool:
    """Nothing to show: None, an empty cell, or a column a file left out (undefined)."""
    return value is None or value == "" or isinstance(value, Undefined)


def fmt_date(value: date | datetime | None, style: str = "medium") -> str:
    """A calendar date as it is (no zone: a birth date is the same day everywhere); a
    ``datetime`` is an instant and goes to ``fmt_datetime``."""
    if _blank(value):
        return ""
    if isinstance(value, datetime):
        return fmt_datetime(value, style)
    vietnamese = locale_code() == "vi" and style in ("short", "medium")
    return format_date(value, _VI_DATE if vietnamese else style)


def fmt_datetime(value: datetime | None, style: str = "medium") -> str:
    """A stored instant (naive UTC) in the reader's time zone, with the zone's label:
    "07/12/2026 09:30 (GMT+7)", "2026/12/07 11:30 (JST)", "Dec 7, 2026, 9:30 AM (GMT+7)"."""
    if value is None:
        return ""
    locale = locale_code()
    shown = format_datetime(value, _datetime_pattern(locale, style))
    return f"{shown} ({zone_label(timezone_code(), locale, value)})"


def _datetime_pattern(locale: str, style: str) -> str:
    """The locale's date of ``style`` with its short time (hours and minutes: seconds are
    noise on a decision or a log-in), joined as the locale joins them."""
    if locale == "vi" and style in ("short", "medium"):
        return _VI_DATE + " HH:mm"
    if style not in ("short", "medium", "long", "full"):
        return style  # an explicit pattern
    babel_locale = get_locale()
    return str(babel_locale.datetime_formats[style]).format(
        babel_locale.time_formats["short"].pattern, babel_locale.date_formats[style].pattern)


def fmt_day(value: date | datetime | None, style: str = "medium") -> str:
    """The calendar day of an instant in the reader's zone (a date stays as it is)."""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return fmt_date(value, style)


def fmt_number(value, digits: int | None = None) -> str:
    if _blank(value):
        return ""
    # A candidate page formats a few hundred numbers: each (locale, value, digits) once per
    # process. Only ints and floats (by their exact bits: -0.0 is not 0.0) are kept.
    kind = type(value)
    exact = value.hex() if kind is float else value if kind is int else None
    key = (get_locale(), digits, kind, exact)
    if exact is not None:
        text = _NUMBERS.get(key)
        if text is not None:
            return text
    if digits is not None:
        text = format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    else:
        text = format_decimal(value)
    if exact is not None:
        if len(_NUMBERS) >= _NUMBERS_KEPT:
            _NUMBERS.clear()
        _NUMBERS[key] = text
    return text


#: ``fmt_number``'s answers, cleared when full.
_NUMBERS: dict[tuple, str] = {}
_NUMBERS_KEPT = 100_000


def fmt_yen(value) -> str:
    return "" if _blank(value) else format_currency(value, "JPY")


def fmt_list(items) -> Markup:
    """``A, B and C`` in the reader's language (Japanese joins with 、).

    Items may be markup (a macro's output) or plain text, which is escaped; the result is
    markup, so a template's ``_()`` placeholder takes it as it is.
    """
    return Markup(format_list([str(escape(item)) for item in items], locale=locale_code()))


#: What every template may call to format a value in the reader's language.
TEMPLATE_GLOBALS = {
    "locale_code": locale_code,
    "format_list": fmt_list,
    "LANGUAGE_NAMES": LANGUAGE_NAMES,
    "field_name": lambda code: field_name(code, locale_code()),
    "province_name": lambda code: province_name(code, locale_code()),
    "prefecture_name": lambda code: prefecture_name(code, locale_code()),
    # A vocabulary skill by its label in the reader's language; a custom one as stored.
    "skill_name": lambda code: skill_label(code, locale_code()),
    "skill_choices": lambda: skill_choices(locale_code()),
}
TEMPLATE_FILTERS = {"date": fmt_date, "datetime": fmt_datetime, "day": fmt_day,
                    "number": fmt_number, "yen": fmt_yen}
