"""What a text or a date must look like before it is stored, for forms and imports alike.

Text: no control characters (NUL, bell, escape, the C1 block) and no bidirectional
overrides or isolates, which make a name or a document number read differently from what is
stored; tabs and line breaks only in multi-line notes. Dates: each kind of date has a window
a user can mean (``DateWindow``), and a birth date gives an age of 15 to 65.

Forms use the WTForms validators at the bottom (``SafeText`` is added to every text field
by ``matching.web.forms.Form``); importers call ``check_text`` on every cell and
``check_date`` in their date parsers. Both name the field or column in the message.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import format_date
from wtforms.validators import ValidationError

from matching.i18n import _l

MIN_AGE, MAX_AGE = 15, 65

# C0 and C1 controls (Unicode category Cc), the line and paragraph separators, the bidi
# embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
_NOT_IN_TEXT = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_MULTILINE_BAD = re.compile(f"[{_NOT_IN_TEXT}]")
_SINGLE_LINE_BAD = re.compile(f"[{_NOT_IN_TEXT}\t\n\r]")


class InvalidValue(ValueError):
    """A value refused by a rule here; ``message`` is translated (lazily) and names the
    field."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def check_text(text: str, field, *, multiline: bool = False) -> str:
    """``text`` unchanged, or ``InvalidValue`` naming ``field`` (a label or a column) and
    the first character that cannot be stored."""
    match = (_MULTILINE_BAD if multiline else _SINGLE_LINE_BAD).search(text)
    if match is None:
        return text
    char = match.group()
    if char in "\t\n\r\u2028\u2029" and not multiline:
        raise InvalidValue(_l("“%(field)s” must fit on one line: remove the line break or "
                              "tab.", field=field))
    raise InvalidValue(_l("“%(field)s” contains an invisible control character (%(code)s). "
                          "Delete it and type the text again.", field=field,
                          code=f"U+{ord(char):04X}"))


# -- dates -------------------------------------------------------------------------------------


def years_from(day: date, years: int) -> date:
    """``day`` moved by whole ``years`` (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class DateWindow:
    """The dates a user can mean for one kind of field: from ``years_back`` years ago to
    ``years_ahead`` years (plus ``days_ahead`` days) from today."""

    years_back: int
    years_ahead: int = 0
    days_ahead: int = 0

    def bounds(self, today: date | None = None) -> tuple[date, date]:
        today = today or date.today()
        return (years_from(today, -self.years_back),
                years_from(today, self.years_ahead) + timedelta(days=self.days_ahead))


#: A day something happened (a decision, a dispatch step); a day of slack for time zones.
PAST_EVENT = DateWindow(years_back=10, days_ahead=1)
#: A day something is planned: availability, a job's start, a departure.
PLANNED = DateWindow(years_back=10, years_ahead=10)
#: The issue date of a certificate: issued to a trainee aged 15 to 65, never in the future.
ISSUED = DateWindow(years_back=50, days_ahead=1)
#: The issue date of a dispatch document; a flight ticket's is the flight date, ahead.
DOCUMENT_ISSUED = DateWindow(years_back=50, years_ahead=2)
#: An expiry date: a document that expired decades ago is a typing mistake.
EXPIRES = DateWindow(years_back=10, years_ahead=20)


def check_date(value: date, field, window: DateWindow, today: date | None = None) -> date:
    """``value`` unchanged, or ``InvalidValue`` naming ``field`` and the window."""
    earliest, latest = window.bounds(today)
    if not earliest <= value <= latest:
        raise InvalidValue(_l("“%(field)s”: %(date)s is not plausible; enter a date from "
                              "%(earliest)s to %(latest)s.", field=field,
                              date=_Date(value), earliest=_Date(earliest),
                              latest=_Date(latest)))
    return value


def check_birth_date(born: date, today: date | None = None) -> date:
    """``born`` unchanged, or ``InvalidValue`` unless it gives an age of 15 to 65."""
    if not MIN_AGE <= age_on(born, today or date.today()) <= MAX_AGE:
        raise InvalidValue(_l("The trainee must be between %(min)d and %(max)d years old.",
                              min=MIN_AGE, max=MAX_AGE))
    return born


class _Date:
    """A date formatted in the reader's locale when the message is shown (messages are lazy,
    and a year such as 0001 is shown as typed)."""

    def __init__(self, value: date):
        self.value = value

    def __str__(self) -> str:
        return format_date(self.value, "medium") if self.value.year >= 1000 \
            else self.value.isoformat()


# -- WTForms validators ------------------------------------------------------------------------


class SafeText:
    """``check_text`` on a text field, with its label as the field's name."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        if isinstance(field.data, str) and field.data:
            try:
                check_text(field.data, field.label.text, multiline=self.multiline)
            except InvalidValue as exc:
                raise ValidationError(exc.message) from None


class DateWithin:
    """``check_date`` on a date field (an empty field passes: ``Optional`` decides)."""

    def __init__(self, window: DateWindow):
        self.window = window

    def __call__(self, form, field):
        if field.data is not None:
            try:
                check_date(field.data, field.label.text, self.window)
            except InvalidValue as exc:
                raise ValidationError(exc.message) from None
