"""Log in, log out (here or everywhere), one's account (language, time zone) and password."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user

from matching import timezones
from matching.extensions import limiter
from matching.i18n import locale_code, set_lang_cookie
from matching.models._common import utcnow
from matching.operations.accounts import (
    AccountError,
    authenticate,
    change_password,
    end_all_sessions,
    set_preferences,
)
from matching.web.auth import bp, throttle
from matching.web.auth.forms import AccountForm, LoginForm, PasswordForm
from matching.web.forms import show_refusal
from matching.web.navigation import safe_next
from matching.web.sessions import log_back_in, remembered


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(throttle.per_address, key_func=throttle.address_and_ip, methods=["POST"],
               deduct_when=throttle.failed)
@limiter.limit(throttle.per_ip, methods=["POST"], deduct_when=throttle.failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        throttle.count_failure()
        flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if remembered():
        # The remember-me cookie is a long-lived bearer token (the same "<id>:<token>" on
        # every device that kept the user logged in): it ends for good only when the token
        # rotates, which ends the user's other sessions too.
        end_all_sessions(current_user)  # committed with the request
    logout_user()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    end_all_sessions(current_user)  # committed with the request
    logout_user()
    flash(_("You have been logged out on every device."), "info")
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
            log_back_in(current_user._get_current_object())  # the user, not the proxy
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The user's own language and time zone (empty: the browser's, the organisation's)."""
    user = current_user._get_current_object()
    organisation_zone = timezones.organisation_timezone(user.organisation)
    form = AccountForm(data={"locale": user.locale or "", "timezone": user.timezone or ""},
                       organisation_zone=timezones.describe(organisation_zone, locale_code()),
                       current=user.timezone)
    if form.validate_on_submit():
        try:
            set_preferences(user, locale=form.locale.data or None,
                            timezone=form.timezone.data or None)
        except AccountError as exc:
            show_refusal(form, exc)
        else:
            g.pop("locale", None)  # the confirmation speaks the language just chosen
            refresh()
            response = redirect(url_for("auth.account"))
            if user.locale:
                set_lang_cookie(response, user.locale)  # also after logging out
            flash(_("Your account settings have been saved."), "success")
            return response
    zone = timezones.user_timezone(user)
    return render_template("auth/account.html", form=form, user=user, now=utcnow(),
                           zone_description=timezones.describe(zone, locale_code()))
