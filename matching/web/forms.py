"""What the form pages of several features share."""

from flask import flash


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
