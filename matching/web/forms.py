"""What the form pages of several features share."""

from flask import flash
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField

from matching.validation import SafeText


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
