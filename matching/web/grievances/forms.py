"""Grievance forms: filing (the worker's page and the department's, on the worker's
behalf), a transition with its note, and the list's filters."""

from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, HiddenField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from matching.i18n import _l
from matching.labels import grievance_category_label, grievance_state_label
from matching.models import GRIEVANCE_CATEGORIES, GRIEVANCE_STATES
from matching.operations.grievances import DESCRIPTION_LIMIT, NOTE_LIMIT
from matching.web.dispatch.forms import DOCUMENT_EXTENSIONS, FlagField
from matching.web.forms import STRIP, FilterForm, Form, choices


class GrievanceForm(Form):
    category = SelectField(_l("What is it about?"), validators=[InputRequired()])
    description = TextAreaField(
        _l("What happened?"), filters=STRIP,
        validators=[DataRequired(), Length(max=DESCRIPTION_LIMIT)],
        description=_l("Say what happened, when and where, and who was involved. Write in "
                       "any language."))
    agency_may_see = BooleanField(_l("The dispatch agency may read this too"), default=False)
    file = FileField(_l("Photo or document (PDF, JPEG or PNG, optional)"), validators=[
        FileAllowed(DOCUMENT_EXTENSIONS, _l("Only PDF, JPEG and PNG files can be attached."))])
    submit = SubmitField(_l("Send"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = choices(
            ((code, grievance_category_label(code)) for code in GRIEVANCE_CATEGORIES),
            blank=_l("Choose…"))


class CorrectionForm(Form):
    """"Ask for a correction" of one's record: a grievance about documents and personal
    data, for the department only."""

    description = TextAreaField(
        _l("What is wrong, and what is right?"), filters=STRIP,
        validators=[DataRequired(), Length(max=DESCRIPTION_LIMIT)],
        description=_l("For example: “My date of birth is 12/03/2001, not 21/03/2001.”"))
    submit = SubmitField(_l("Send to the labour department"))


class TransitionForm(Form):
    to_state = SelectField(_l("New state"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), filters=STRIP,
                         validators=[DataRequired(), Length(max=NOTE_LIMIT)],
                         description=_l("The worker reads this note."))
    #: The state the page showed: a change made meanwhile by someone else is refused.
    seen_state = HiddenField()
    submit = SubmitField(_l("Record"))

    def __init__(self, *args, states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.to_state.choices = [(s, grievance_state_label(s)) for s in states]


class GrievanceFilterForm(FilterForm):
    state = SelectField(_l("State"), validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False)
    overdue = FlagField(_l("Only overdue (open more than 7 days)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = choices(((s, grievance_state_label(s)) for s in GRIEVANCE_STATES),
                                     blank=_l("Every state"))
        self.category.choices = choices(
            ((c, grievance_category_label(c)) for c in GRIEVANCE_CATEGORIES),
            blank=_l("Every category"))
