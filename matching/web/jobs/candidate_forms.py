"""The decision buttons on candidate cards and profiles (one small POST form each)."""

from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from matching.i18n import _l
from matching.models import DECISIONS
from matching.operations.decisions import NOTE_LIMIT
from matching.web.forms import Form


class DecisionForm(Form):
    """``decision`` comes from the button pressed; ``confirm`` is set on the headcount
    confirmation page; ``next`` brings the employer back where they clicked."""

    decision = SelectField(_l("Decision"), choices=DECISIONS,
                           invalid_choice_message=_l("Choose a decision from the list."),
                           validators=[DataRequired(_l("Choose a decision."))])
    note = TextAreaField(_l("Note (optional)"), validators=[
        Optional(), Length(max=NOTE_LIMIT, message=_l("The note can have at most %(max)d "
                                                      "characters."))])
    confirm = HiddenField()
    next = HiddenField()

    @property
    def confirmed(self) -> bool:
        return self.confirm.data == "1"
