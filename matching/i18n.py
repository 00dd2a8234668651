"""Locale selection and formatting helpers (DESIGN §8); the labels of stored codes are in
``matching.labels``.

Order: the logged-in user's saved preference, then an explicit ``lang`` choice (query string
or cookie), then the browser's Accept-Language, then the default (vi). The choice is cached
in ``g`` for the request.
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
    gettext,
    pgettext,
)
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape

from matching.vocab import field_name, prefecture_name, province_name

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

__all__ = ["_l", "_lp", "select_locale", "remember_query_choice", "LANGUAGE_NAMES"]


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


def fmt_date(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    vietnamese = locale_code() == "vi" and style in ("short", "medium")
    if isinstance(value, datetime):
        return format_datetime(value, _VI_DATE + " HH:mm" if vietnamese else style)
    return format_date(value, _VI_DATE if vietnamese else style)


def fmt_number(value, digits: int | None = None) -> str:
    if value is None:
        return ""
    if digits is not None:
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value)


def fmt_yen(value) -> str:
    return "" if value is None else format_currency(value, "JPY")


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
}
TEMPLATE_FILTERS = {"date": fmt_date, "number": fmt_number, "yen": fmt_yen}
