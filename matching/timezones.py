"""Time zones: which one each user reads times in, and the zones they may choose from.

Times are stored as naive UTC (``models._common.utcnow``); they are shown in the reader's
zone by ``matching.i18n`` (Flask-Babel's timezone selector). A user's own choice
(``User.timezone``) wins; without one, the organisation's country decides (an employer in
Japan reads Japan time, a department in Vietnam Vietnam time), else the app default
``BABEL_DEFAULT_TIMEZONE``.
"""

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import format_datetime, get_timezone_location
from flask import current_app

#: The zone of each country an organisation may be registered in.
COUNTRY_TIMEZONES = {"JP": "Asia/Tokyo", "VN": "Asia/Ho_Chi_Minh"}

#: What the account page and the admin user form offer: Vietnam and Japan first, then the
#: zones the platform's people travel to or work with (neighbouring sending and receiving
#: countries, the usual business capitals) and UTC. Any other zone zoneinfo knows is still
#: accepted and kept (a user who has one sees it among the choices).
COMMON_TIMEZONES = (
    "Asia/Ho_Chi_Minh", "Asia/Tokyo",
    "UTC",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Moscow", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Yangon", "Asia/Bangkok", "Asia/Jakarta", "Asia/Phnom_Penh",
    "Asia/Vientiane", "Asia/Manila", "Asia/Singapore", "Asia/Kuala_Lumpur", "Asia/Shanghai",
    "Asia/Hong_Kong", "Asia/Taipei", "Asia/Seoul", "Australia/Perth", "Australia/Sydney",
    "Pacific/Auckland", "Pacific/Honolulu", "America/Los_Angeles", "America/Chicago",
    "America/New_York",
)


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this system's zoneinfo knows."""
    return bool(name) and name in _known()


def organisation_timezone(org) -> str:
    """The default zone of an organisation's people: its country's, else the app default."""
    country = getattr(org, "country", None)
    return COUNTRY_TIMEZONES.get(country) or current_app.config["BABEL_DEFAULT_TIMEZONE"]


def user_timezone(user) -> str:
    """The zone ``user`` reads times in: their own choice, else their organisation's."""
    chosen = getattr(user, "timezone", None)
    if is_valid_timezone(chosen):
        return chosen
    return organisation_timezone(getattr(user, "organisation", None))


def short_gmt(name: str, locale: str, at: datetime | None = None) -> str:
    """The short localised GMT offset of a zone at an instant (CLDR "O"): GMT+7, GMT+5:30.

    Babel's "z" falls back to "+0700" where the locale has no abbreviation for a zone and
    its "O" field formats nothing, so the CLDR rule is written out here.
    """
    at = at or datetime.now(UTC)
    offset = (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(
        ZoneInfo(name)).utcoffset() or timedelta(0)
    gmt = Locale.parse(locale).zone_formats["gmt"]
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return gmt % ""
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return gmt % (f"{sign}{hours}" + (f":{rest:02d}" if rest else ""))


def zone_label(name: str, locale: str, at: datetime | None = None) -> str:
    """The label beside a time: the locale's abbreviation when it has one (JST in Japanese,
    EST in English), else the short GMT offset (GMT+7)."""
    at = at or datetime.now(UTC)
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    abbreviation = format_datetime(aware, "z", tzinfo=ZoneInfo(name), locale=locale)
    if abbreviation[:1] in "+-" or not abbreviation:
        return short_gmt(name, locale, at)
    return abbreviation


def zone_name(name: str, locale: str) -> str:
    """A zone's name for a list in the reader's language: "Giờ Việt Nam", "日本時間"."""
    if name == "UTC":
        # CLDR names UTC an "unknown region"; its long name reads right.
        return format_datetime(datetime.now(UTC), "zzzz", tzinfo=ZoneInfo("UTC"),
                               locale=locale)
    return get_timezone_location(ZoneInfo(name), locale=locale)


def timezone_choices(locale: str, current: str | None = None) -> list[tuple[str, str]]:
    """The zones to choose from, "(GMT+7) Giờ Việt Nam", in the order of COMMON_TIMEZONES;
    ``current`` (a valid zone outside the list) is added so that saving keeps it."""
    names = list(COMMON_TIMEZONES)
    if is_valid_timezone(current) and current not in names:
        names.append(current)
    return [(name, describe(name, locale)) for name in names]


def describe(name: str, locale: str) -> str:
    """A zone as a list shows it: "(GMT+7) Giờ Việt Nam", "(GMT+9) 日本時間"."""
    return f"({short_gmt(name, locale)}) {zone_name(name, locale)}"
