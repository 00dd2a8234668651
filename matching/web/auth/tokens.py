"""The "API tokens" page: every logged-in user creates (name, optional expiry; the token is
shown once), lists and revokes their own tokens for the JSON API (``matching.api``)."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from matching.extensions import db
from matching.i18n import _l
from matching.models.tokens import NAME_LIMIT
from matching.operations.tokens import (
    MAX_EXPIRY_DAYS,
    TokenError,
    create_token,
    revoke_token,
    user_tokens_select,
)
from matching.web.auth import bp
from matching.web.forms import EmptyForm, Form, show_refusal


class TokenForm(Form):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter a name for the token.")),
        Length(max=NAME_LIMIT, message=_l("The name can have at most %(max)d characters."))])
    expires_days = IntegerField(
        _l("Expires after (days)"), invalid_value_message=_l("Enter a whole number of days."),
        validators=[Optional(), NumberRange(min=1, max=MAX_EXPIRY_DAYS, message=_l(
            "Enter a number of days from 1 to %(max)d, or leave it blank for no expiry.",
            max=MAX_EXPIRY_DAYS))])
    submit = SubmitField(_l("Create token"))


def _page(form: TokenForm, new_token: str | None = None, status: int = 200):
    tokens = db.session.scalars(user_tokens_select(current_user)).all()
    return render_template("auth/tokens.html", form=form, tokens=tokens, new_token=new_token,
                           revoke_form=EmptyForm()), status


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _row, token = create_token(current_user, form.name.data, form.expires_days.data)
        except TokenError as exc:
            show_refusal(form, exc)
        else:
            # Shown on this answer only (never stored, never in a redirect or a flash).
            return _page(TokenForm(formdata=None), new_token=token)
    return _page(form)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if revoke_token(current_user, token_id) is None:
        abort(404)  # not one of this user's tokens
    flash(_("The token has been revoked: it no longer works."), "success")
    return redirect(url_for("auth.tokens"))
