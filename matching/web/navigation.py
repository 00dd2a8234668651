"""Where a page may send the browser next."""

from urllib.parse import urlsplit


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths may be redirected to (no open redirect)."""
    if not target:
        return default
    # Browsers read "/\evil.example" as "//evil.example" and drop tabs and newlines, so a
    # path holding a backslash or any control character is refused outright.
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
