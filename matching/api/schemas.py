"""Schemas shared by every resource: the problem document (RFC 9457)."""

from datetime import UTC

import marshmallow as ma


class FieldErrorSchema(ma.Schema):
    row = ma.fields.Integer(metadata={"description": "Bulk requests: the index of the row in "
                                                     "the request's rows (from 0)."})
    field = ma.fields.String(allow_none=True)
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """What every error answers, as ``application/problem+json``."""

    type = ma.fields.String(required=True, metadata={
        "description": "A stable URI reference naming the kind of problem."})
    title = ma.fields.String(required=True, metadata={
        "description": "The kind of problem, in the language of Accept-Language."})
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(metadata={"description": "This occurrence, translated."})
    instance = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    current_etag = ma.fields.String(metadata={"description": "412: the version to read."})


class UtcDateTime(ma.fields.DateTime):
    """A time as stored (naive UTC) written as RFC 3339 says a date-time is: with its zone
    (``2026-12-07T05:44:31.426056+00:00``)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


# -- fields that apply the site's text and date rules (``matching.validation``) -------------


class Text(ma.fields.String):
    """A one-line text: stripped, no control characters (``validation.check_text``), at
    most ``max`` characters (the column's size)."""

    def __init__(self, max: int, *, multiline: bool = False, **kw):
        kw.setdefault("validate", ma.validate.Length(max=max))
        super().__init__(**kw)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kw):
        from matching.validation import InvalidValue, check_text

        text = super()._deserialize(value, attr, data, **kw).strip()
        try:
            return check_text(text, attr or self.name, multiline=self.multiline)
        except InvalidValue as exc:
            raise ma.ValidationError(str(exc.message)) from None


class WindowDate(ma.fields.Date):
    """A date within one of ``validation``'s windows (``PLANNED``, ``ISSUED``...)."""

    def __init__(self, window, **kw):
        super().__init__(**kw)
        self.window = window

    def _deserialize(self, value, attr, data, **kw):
        from matching.validation import InvalidValue, check_date

        day = super()._deserialize(value, attr, data, **kw)
        try:
            return check_date(day, attr or self.name, self.window)
        except InvalidValue as exc:
            raise ma.ValidationError(str(exc.message)) from None
