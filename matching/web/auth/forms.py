from flask_babel import gettext as _
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from matching.i18n import LANGUAGE_NAMES, _l
from matching.web.forms import (
    INVALID_CHOICE,
    BaseForm,
    choices,
    timezone_choices,
    valid_timezone,
)


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in on this computer"))
    submit = SubmitField(_l("Log in"))


class PasswordForm(BaseForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))])
    submit = SubmitField(_l("Change password"))


class AccountForm(BaseForm):
    """One's own language and time zone. ``organisation_zone`` names the zone the blank
    choice stands for; ``current`` is the user's saved zone (kept among the choices)."""

    locale = SelectField(_l("Language"), default="", validate_choice=False)
    timezone = SelectField(_l("Time zone"), default="", validate_choice=False,
                           validators=[valid_timezone])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, organisation_zone: str, current: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = choices(LANGUAGE_NAMES.items(), blank=_("Browser language"))
        self.timezone.choices = timezone_choices(
            _("My organisation's time zone (%(zone)s)", zone=organisation_zone), current)

    def validate_locale(self, field) -> None:
        if field.data and field.data not in LANGUAGE_NAMES:
            raise ValueError(str(INVALID_CHOICE))
