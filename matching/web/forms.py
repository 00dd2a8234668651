"""What the form pages of several features share: the ``Form`` base, ``EmptyForm``, the
choices built from vocabularies and labels, and how a refused operation is shown."""

from flask import flash
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.fields import SelectChoice

from matching.i18n import _l
from matching.labels import level_label
from matching.validation import SafeText
from matching.vocab import FIELDS, PROVINCES, fold
from matching.vocab.languages import LEVEL_CHOICES

INVALID_CHOICE = _l("Choose a value from the list.")
INVALID_DATE = _l("Enter a valid date (YYYY-MM-DD).")
#: ``filters=STRIP``: surrounding spaces are not part of what was typed.
STRIP = [lambda v: v.strip() if isinstance(v, str) else v]


class Form(FlaskForm):
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


class EmptyForm(FlaskForm):
    """A POST button: only the CSRF token."""


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
