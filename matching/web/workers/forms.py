from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from matching.i18n import _l
from matching.operations.accounts import MIN_PASSWORD_LENGTH
from matching.web.forms import STRIP, Form


class AcceptInvitationForm(Form):
    """The worker's first log-in details: their e-mail (to log in later) and a password
    under the site's rules."""

    email = EmailField(_l("Your e-mail address"), filters=STRIP,
                       validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("You will log in with it next time."))
    password = PasswordField(
        _l("Choose a password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        description=_l("At least %(min)d characters.", min=MIN_PASSWORD_LENGTH))
    confirm = PasswordField(
        _l("Type the password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])
    submit = SubmitField(_l("Open my page"))
