"""Dispatch forms. Choices are set per request so that labels follow the user's locale and
the move form offers only the moves allowed now."""

from datetime import date

from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from matching.i18n import _l, locale_code
from matching.labels import document_kind_label, stage_label
from matching.models import DOCUMENT_KINDS, EXITS, STAGES
from matching.validation import DOCUMENT_ISSUED, EXPIRES, PAST_EVENT, PLANNED, DateWithin
from matching.web.forms import INVALID_DATE, STRIP, FilterForm, Form, province_choices
from matching.web.params import optional_id

#: What the document form accepts; the operation also checks the file's first bytes.
DOCUMENT_EXTENSIONS = ["pdf", "jpg", "jpeg", "png"]


def _version_field() -> IntegerField:
    # The version the page was read at: a move or edit sent from an older page is refused.
    return IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class FlagField(BooleanField):
    """A filter's check box: on only for the values a check box or a link sends."""

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and valuelist[0] in ("y", "1", "on")


class BoardFilterForm(FilterForm):
    """The board's GET filters (``queries.BoardFilters.from_form`` reads them): an id that
    is not a database id, or a stage that is not one, filters nothing."""

    job = SelectField(_l("Job order"), coerce=optional_id, validate_choice=False)
    employer = SelectField(_l("Employer"), coerce=optional_id, validate_choice=False)
    stage = SelectField(_l("Stage"), validate_choice=False)
    missing = FlagField(_l("Documents missing for the next step"))
    expiring = FlagField(_l("Documents expiring within 30 days or before departure"))

    def __init__(self, *args, jobs, employers, **kwargs):
        super().__init__(*args, **kwargs)
        self.job.choices = [SelectChoice("", str(_l("All job orders")))] + [
            SelectChoice(str(job.id), f"{job.external_id} · {job.title}") for job in jobs]
        self.employer.choices = [SelectChoice("", str(_l("All employers")))] + [
            SelectChoice(str(org.id), org.name) for org in employers]
        self.stage.choices = [SelectChoice("", str(_l("Every open stage")))] + [
            SelectChoice(code, stage_label(code)) for code in (*STAGES, *EXITS)]


class ProvinceForm(FilterForm):
    """The administrator's province choice on the pipeline page (GET)."""

    province = SelectField(_l("Province"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.province.choices = province_choices(locale_code(), _l("All provinces"))


class MoveForm(Form):
    """Move a dispatch to its next stage or out of the pipeline."""

    # Not validated against the choices here: a move chosen on a page that is out of date
    # must reach the operation, which answers "stale" with the current stage.
    to_stage = SelectField(_l("Move to"), validate_choice=False,
                           validators=[InputRequired(_l("Choose where the dispatch moves."))])
    version = _version_field()
    happened_on = DateField(_l("Date it happened"), default=date.today,
                            invalid_value_message=INVALID_DATE,
                            validators=[InputRequired(_l("Enter the date it happened.")),
                                        DateWithin(PAST_EVENT)])
    note = TextAreaField(_l("Note"), filters=STRIP, validators=[
        Optional(), Length(max=1000, message=_l("The note can have at most %(max)d characters."))])
    submit = SubmitField(_l("Record the move"))

    def __init__(self, *args, moves: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        forward = [m for m in moves if m in STAGES]
        exits = [m for m in moves if m in EXITS]
        groups = {}
        if forward:
            groups[str(_l("Next step"))] = [(m, stage_label(m)) for m in forward]
        if exits:
            groups[str(_l("Leave the pipeline"))] = [(m, stage_label(m)) for m in exits]
        self.to_stage.choices = groups

    def validate_to_stage(self, field):
        if field.data not in STAGES and field.data not in EXITS:
            raise ValidationError(_l("Choose where the dispatch moves."))


class PlannedDepartureForm(Form):
    """The planned departure date, which document expiry is checked against."""

    version = _version_field()
    planned_departure = DateField(_l("Planned departure"), invalid_value_message=INVALID_DATE,
                                  validators=[Optional(), DateWithin(PLANNED)])
    submit = SubmitField(_l("Save the date"))


class DocumentForm(Form):
    """A document of the dispatch (COE, visa, flight…) or of its worker (passport…)."""

    kind = SelectField(_l("Document"), invalid_choice_message=_l("Choose a value from the list."))
    number = StringField(_l("Number"), filters=STRIP,
                         description=_l("For a flight ticket: the flight number."), validators=[
        Optional(), Length(max=64, message=_l("The number can have at most %(max)d characters."))])
    issued_on = DateField(_l("Issued on"), invalid_value_message=INVALID_DATE,
                          description=_l("For a flight ticket: the date of the flight."),
                          validators=[Optional(), DateWithin(DOCUMENT_ISSUED)])
    expires_on = DateField(_l("Expires on"), invalid_value_message=INVALID_DATE,
                           validators=[Optional(), DateWithin(EXPIRES)])
    file = FileField(_l("File (PDF, JPEG or PNG, optional)"), validators=[
        FileAllowed(DOCUMENT_EXTENSIONS, _l("Only PDF, JPEG and PNG files can be attached."))])
    submit = SubmitField(_l("Add the document"))

    def __init__(self, *args, replacing=None, **kwargs):
        super().__init__(*args, **kwargs)
        #: The document this form replaces (same kind: the only choice), or None.
        self.replacing = replacing
        kinds = (replacing.kind,) if replacing is not None else DOCUMENT_KINDS
        self.kind.choices = [(code, document_kind_label(code)) for code in kinds]
        if replacing is not None:
            self.kind.data = replacing.kind
            self.submit.label.text = str(_l("Record the new document"))

    def validate_expires_on(self, field):
        if field.data and self.issued_on.data and field.data < self.issued_on.data:
            raise ValidationError(_l("The expiry date cannot be before the issue date."))

    def document_data(self) -> dict:
        upload = self.file.data if getattr(self.file.data, "filename", "") else None
        return {"kind": self.kind.data, "number": self.number.data or None,
                "issued_on": self.issued_on.data, "expires_on": self.expires_on.data,
                "upload": upload}


class WithdrawDocumentForm(Form):
    """Withdraw a document recorded by mistake: it stays in the history with the reason."""

    reason = TextAreaField(_l("Why is it withdrawn?"), filters=STRIP, validators=[
        InputRequired(_l("Say why the document is withdrawn.")),
        Length(max=500, message=_l("The reason can have at most %(max)d characters."))])
    submit = SubmitField(_l("Withdraw the document"))
