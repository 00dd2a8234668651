from wtforms import IntegerField, MonthField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from matching.i18n import _l
from matching.operations.wages import MAX_WAGE_JPY
from matching.web.forms import Form


class WageForm(Form):
    month = MonthField(_l("Month"), validators=[InputRequired()],
                       invalid_value_message=_l("Choose a month."))
    amount_jpy = IntegerField(
        _l("Wage paid for that month (yen, before deductions)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_WAGE_JPY)],
        description=_l("The total on your pay slip before tax and deductions, for example "
                       "180000."))
    submit = SubmitField(_l("Save my wage"))
