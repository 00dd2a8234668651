"""The security headers every response carries (a single ``after_request`` hook).

The Content-Security-Policy allows scripts and styles only from our own static files: no
inline ``<script>``, no ``onclick=``, no ``style=`` attribute (the templates keep their
behaviour in ``static/js/`` and their looks in ``static/css/``), so an injected tag that
slipped past escaping still could not run.
"""

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",  # pico.css draws its icons as data: URLs
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
}


def add_security_headers(response: Response) -> Response:
    """Set the headers a view did not set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
