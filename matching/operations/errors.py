"""The one error type of a refused operation.

Every write in ``operations`` validates before it writes, and refuses with an
``OperationError``: ``message`` is translated (lazy) and safe to show as it is, ``field``
names the form field (or import column) it is about, ``None`` for the whole form, and
``code`` says why in a word a program can test ("forbidden", "stale", "invalid"...). The
web shows any of them with ``matching.web.forms.show_refusal``; the CLI prints the message.
Subclasses exist only where a caller must tell one refusal from another.
"""


class OperationError(ValueError):
    """A refused operation; nothing was written."""

    def __init__(self, message, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return str(self.message)


class DispatchError(OperationError):
    """A refused move or edit of a dispatch or of its documents. ``code``: "forbidden",
    "not_allowed", "closed", "bad_date", "missing_document", "expired_document", "stale",
    "invalid" or "file"."""

    def __init__(self, message, field: str | None = None, code: str | None = "not_allowed"):
        super().__init__(message, field=field, code=code)
