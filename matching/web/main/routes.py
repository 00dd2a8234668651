"""Home page and the language switcher."""

import sqlalchemy as sa
from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from matching import access
from matching.extensions import db
from matching.i18n import set_lang_cookie
from matching.models import TRAINEE_STATUSES
from matching.operations.accounts import set_user_locale
from matching.web.main import bp
from matching.web.navigation import safe_next


@bp.route("/")
@login_required
def index():
    if current_user.role == "worker":
        return redirect(url_for("worker.home"))  # a worker has only their own page
    counts = {}
    if access.can_register_trainees(current_user):
        scoped = access.trainees_select(current_user).subquery()
        rows = db.session.execute(
            sa.select(scoped.c.status, sa.func.count()).group_by(scoped.c.status)
        ).all()
        counts = {status: n for status, n in rows}
    return render_template("main/index.html", counts=counts, total=sum(counts.values()),
                           statuses=TRAINEE_STATUSES)


@bp.route("/lang", methods=["POST"])
def set_language():
    """The switcher on every page: saves the choice for a logged-in user, a cookie otherwise."""
    locale = request.form.get("lang", "")
    target = safe_next(request.form.get("next"), url_for("main.index"))
    response = redirect(target)
    if locale in current_app.config["LANGUAGES"]:
        set_lang_cookie(response, locale)
        if current_user.is_authenticated:
            set_user_locale(current_user, locale)
    return response


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon, for
    good, so they stop asking (and stop logging 404s)."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
