"""Log in, log out, change one's password."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from matching.operations.accounts import authenticate, change_password
from matching.web.auth import bp
from matching.web.auth.forms import LoginForm, PasswordForm
from matching.web.main.routes import safe_next


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data)
        if result.user is not None:
            login_user(result.user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        if result.locked_until is not None:
            flash(_("Too many failed attempts. Log-in is blocked until %(time)s.",
                    time=format_datetime(result.locked_until, "short")), "error")
        else:
            flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            change_password(current_user, form.new.data)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
