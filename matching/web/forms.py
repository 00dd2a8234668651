"""What the form pages of several features share: the ``Form`` base, ``EmptyForm``, the
choices built from vocabularies and labels, and how a refused operation is shown."""

from flask import flash
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms import HiddenField, PasswordField, StringField, TextAreaField, ValidationError
from wtforms.fields import SelectChoice

from matching import timezones
from matching.i18n import _l, locale_code
from matching.labels import level_label
from matching.validation import SafeText
from matching.vocab import FIELDS, PROVINCES, fold
from matching.vocab.languages import LEVEL_CHOICES
from matching.web.form_messages import TRANSLATIONS

INVALID_CHOICE = _l("Choose a value from the list.")
INVALID_DATE = _l("Enter a valid date (YYYY-MM-DD).")
#: ``filters=STRIP``: surrounding spaces are not part of what was typed.
STRIP = [lambda v: v.strip() if isinstance(v, str) else v]


class TranslatedCSRF(_FlaskFormCSRF):
    """Flask-WTF's form CSRF check, with its messages in the reader's language.

    Flask-WTF raises them as plain English strings (``validate_csrf``); CSRFProtect, which
    checks every POST first, answers with the translated error page, so a form only shows
    these when that check is switched off."""

    def validate_csrf_token(self, form, field):
        try:
            super().validate_csrf_token(form, field)
        except ValidationError as e:
            raise ValidationError(field.gettext(e.args[0])) from e


class BaseForm(FlaskForm):
    """The root of every form: WTForms' and Flask-WTF's built-in messages ("This field is
    required.", "Not a valid integer value.", the CSRF ones...) come from the project's
    catalogues (``matching.web.form_messages``), not from WTForms' own, which have no
    Vietnamese. ``tests/test_form_messages.py`` checks that every form derives from it."""

    class Meta:
        csrf_class = TranslatedCSRF

        def get_translations(self, form):
            return TRANSLATIONS


class Form(BaseForm):
    """The base of every form that stores what it is given: each text field refuses control
    and bidi-override characters (``matching.validation.SafeText``), and only a textarea
    may hold tabs and line breaks. Added here, so that a new field cannot forget it."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(
                    field_class, (PasswordField, HiddenField)):
                multiline = issubclass(field_class, TextAreaField)
                options["validators"] = [*(unbound_field.kwargs.get("validators") or ()),
                                         SafeText(multiline=multiline)]
            return super().bind_field(form, unbound_field, options)


class EmptyForm(BaseForm):
    """A POST button: only the CSRF token."""


class FilterForm(BaseForm):
    """The GET filters of a list, built with ``formdata=request.args``; its values drive the
    query (nothing re-reads ``request.args``).

    No CSRF token: a search changes nothing. Never validated, so never refused: a stale
    bookmark still opens the list, and a select's value that is not one of its choices
    filters nothing (``chosen``).
    """

    class Meta:
        csrf = False

    def chosen(self, name: str):
        """The value of select ``name`` when it is one of its choices, else ``None`` (also
        when the form has no such field, or when the blank "All ..." choice is chosen)."""
        field = self._fields.get(name)
        if field is None or field.data in (None, ""):
            return None
        return field.data if field.data in _choice_values(field) else None

    def link_args(self) -> dict:
        """The non-empty values as given, for page links and the export link."""
        return {name: field.data for name, field in self._fields.items() if field.data}


def _choice_values(field) -> set:
    """A select's choice values (flattened when grouped), as its ``coerce`` gives them."""
    groups = field.choices.values() if isinstance(field.choices, dict) else [field.choices]
    return {field.coerce(_value(choice)) for choices in groups for choice in choices}


def _value(choice):
    if isinstance(choice, SelectChoice):
        return choice.value
    return choice[0] if isinstance(choice, tuple) else choice


def choices(pairs, blank=None) -> list[SelectChoice]:
    """``(value, label)`` pairs as select choices, after a ``blank`` ("All ...") if given."""
    out = [SelectChoice("", str(blank))] if blank is not None else []
    return out + [SelectChoice(str(value), str(label)) for value, label in pairs]


def by_label(pairs) -> list[tuple[str, str]]:
    """Alphabetical by label as a Vietnamese reader expects (Đ next to D, not after Z)."""
    return sorted(pairs, key=lambda pair: fold(str(pair[1])))


def level_choices(include_none: bool = True) -> list[SelectChoice]:
    levels = LEVEL_CHOICES if include_none else [c for c in LEVEL_CHOICES if c != "none"]
    return choices((code, level_label(code)) for code in levels)


def field_choices(locale: str, blank=None) -> list[SelectChoice]:
    return choices(by_label((f.code, f.name(locale)) for f in FIELDS.values()), blank)


def province_choices(locale: str, blank) -> list[SelectChoice]:
    return choices(by_label((p.code, p.name(locale)) for p in PROVINCES.values()), blank)


def show_refusal(form, refusal) -> None:
    """Put an operation's refusal next to the field it names, or above the form when the form
    has no such field.

    ``refusal`` is an operations error (``RegistryError``, ``JobOrderError``,
    ``AccountError``...): ``message`` is translated (lazy), ``field`` a field name or ``None``.
    """
    field = form._fields.get(refusal.field) if refusal.field else None
    if field is None:
        flash(str(refusal.message), "error")
    else:
        field.errors = [*field.errors, refusal.message]


def timezone_choices(blank, current: str | None = None) -> list[SelectChoice]:
    """The zones a user may read times in, after ``blank`` (no zone of one's own: the
    organisation's); ``current``, a valid zone outside the list, is kept among them."""
    return choices(timezones.timezone_choices(locale_code(), current), blank)


def valid_timezone(_form, field) -> None:
    """A select's zone must be one zoneinfo knows (the list is a suggestion: a zone kept
    from before, or any real IANA name, is accepted); empty is the organisation's zone."""
    if field.data and not timezones.is_valid_timezone(field.data):
        raise ValidationError(_("“%(zone)s” is not a known time zone; choose one from the "
                                "list.", zone=field.data[:64]))
