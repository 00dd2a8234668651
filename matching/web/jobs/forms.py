"""Job-order forms.

Choices are built per request in ``__init__`` so labels follow the reader's locale; every
validator and parse error carries its own translatable message.
"""

import re
import unicodedata

import sqlalchemy as sa
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from matching.extensions import db
from matching.i18n import _l, fmt_yen, locale_code
from matching.labels import JOB_STATUS_LABELS, VISA_LABELS
from matching.models import JOB_STATUSES, VISA_TRACKS, Organisation
from matching.operations.jobs import (
    LOW_MONTHLY_SALARY,
    MAX_CONTRACT_MONTHS,
    MAX_HEADCOUNT,
    MAX_SALARY,
    MAX_START_WINDOW,
    SKILLS_LIMIT,
    allowed_statuses,
)
from matching.validation import PLANNED, DateWithin
from matching.vocab import PREFECTURES
from matching.vocab.skills import parse_skills
from matching.web.forms import (
    INVALID_CHOICE,
    INVALID_DATE,
    STRIP,
    BaseForm,
    FilterForm,
    Form,
    choices,
    field_choices,
    level_choices,
)

# What people type around an amount of yen: "¥215,000", "215 000円", "２１５０００".
_YEN_NOISE = re.compile(r"[\s,_'¥￥円]|yen|jpy", re.IGNORECASE)


def prefecture_choices(blank) -> list[SelectChoice]:
    """The 47 prefectures in the usual north-to-south order (JIS X 0401)."""
    locale = locale_code()
    return choices(((p.code, p.name(locale)) for p in PREFECTURES.values()), blank)


def organisation_choices(kind: str, keep_id: int | None = None) -> list[tuple[int, str]]:
    """Active organisations of ``kind`` by name (plus ``keep_id``, the current one, if not)."""
    stmt = (sa.select(Organisation.id, Organisation.name, Organisation.code)
            .where(Organisation.kind == kind,
                   sa.or_(Organisation.active.is_(True), Organisation.id == (keep_id or 0)))
            .order_by(Organisation.name, Organisation.id))
    return [(org_id, f"{name} ({code})") for org_id, name, code in db.session.execute(stmt)]


class YenField(IntegerField):
    """A whole number of yen, tolerating thousands separators and the yen sign."""

    def process_formdata(self, valuelist):
        if valuelist:
            cleaned = _YEN_NOISE.sub("", unicodedata.normalize("NFKC", valuelist[0] or ""))
            valuelist = [cleaned]
        super().process_formdata(valuelist)


class JobOrderForm(Form):
    """Post or edit a job order. ``user`` decides whether the employer can be chosen."""

    employer_id = SelectField(_l("Employer"), invalid_choice_message=INVALID_CHOICE,
                              validators=[DataRequired(_l("Choose an employer."))])
    external_id = StringField(_l("Job order ID"), filters=STRIP, validators=[
        Optional(),
        Length(max=64, message=_l("The ID can have at most %(max)d characters.")),
    ])
    title = StringField(_l("Title"), filters=STRIP, validators=[
        DataRequired(_l("Enter a title.")),
        Length(max=200, message=_l("The title can have at most %(max)d characters.")),
    ])
    field = SelectField(_l("Field"), invalid_choice_message=INVALID_CHOICE,
                        validators=[DataRequired(_l("Choose a field."))])
    required_skills = StringField(_l("Required skills"), filters=STRIP)
    preferred_skills = StringField(_l("Preferred skills"), filters=STRIP)
    min_language_level = SelectField(_l("Minimum Japanese level"), default="none",
                                     invalid_choice_message=INVALID_CHOICE)
    headcount = IntegerField(
        _l("Headcount"), default=1,
        invalid_value_message=_l("Enter a whole number of workers."),
        validators=[InputRequired(_l("Enter how many workers you need.")),
                    NumberRange(min=1, max=MAX_HEADCOUNT,
                                message=_l("Enter a headcount from %(min)s to %(max)s."))])
    prefecture = SelectField(_l("Prefecture"), invalid_choice_message=INVALID_CHOICE,
                             validators=[DataRequired(_l("Choose the prefecture of the "
                                                         "workplace."))])
    monthly_salary_jpy = YenField(
        _l("Monthly salary (yen)"),
        invalid_value_message=_l("Enter the salary as a whole number of yen, for example "
                                 "215000."),
        validators=[Optional(), NumberRange(min=0, max=MAX_SALARY, message=_l(
            "Enter a monthly salary from %(min)s to %(max)s yen."))])
    start_date = DateField(_l("Start date"),
                           invalid_value_message=INVALID_DATE,
                           validators=[Optional(), DateWithin(PLANNED)])
    language_is_hard = BooleanField(
        _l("Do not show candidates below the minimum Japanese level"))
    start_window_days = IntegerField(
        _l("Start window (days)"),
        invalid_value_message=_l("Enter a whole number of days, for example 30."),
        validators=[Optional(), NumberRange(min=0, max=MAX_START_WINDOW, message=_l(
            "Enter a number of days from %(min)s to %(max)s, or leave it blank for no "
            "limit."))])
    visa_track = SelectField(_l("Visa track"), default="SSW1",
                             invalid_choice_message=INVALID_CHOICE)
    contract_months = IntegerField(
        _l("Contract length (months)"),
        invalid_value_message=_l("Enter a whole number of months, for example 36."),
        validators=[Optional(), NumberRange(min=1, max=MAX_CONTRACT_MONTHS, message=_l(
            "Enter a contract length from %(min)s to %(max)s months, or leave it blank."))])
    agency_id = SelectField(_l("Partner agency"), default="",
                            invalid_choice_message=INVALID_CHOICE)
    status = SelectField(_l("Status"), invalid_choice_message=INVALID_CHOICE)
    submit = SubmitField(_l("Save"))
    save_draft = SubmitField(_l("Save as draft"))
    #: Shown once a salary under ``LOW_MONTHLY_SALARY`` is entered: ticking it confirms it.
    confirm_low_salary = BooleanField(_l("Yes, this is the monthly salary in yen"))

    def __init__(self, *args, user, job=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored_salary = job.monthly_salary_jpy if job is not None else None
        self.field.choices = field_choices(locale_code(), _l("Choose a field"))
        self.min_language_level.choices = level_choices()
        self.prefecture.choices = prefecture_choices(_l("Choose a prefecture"))
        self.visa_track.choices = choices((code, VISA_LABELS[code]) for code in VISA_TRACKS)
        self.agency_id.choices = choices(
            organisation_choices("agency", keep_id=job.agency_id if job else None),
            _l("None yet"))
        if job is None and user.role == "admin":
            self.employer_id.choices = choices(organisation_choices("employer"),
                                                _l("Choose an employer"))
        else:
            # An employer posts for itself; a job order never changes employer.
            del self.employer_id
        if job is None:
            self.submit.label.text = _l("Publish the job order")
            del self.status
        else:
            del self.save_draft
            self.status.choices = choices(
                (code, JOB_STATUS_LABELS[code]) for code in allowed_statuses(job.status))

    def _validate_skills(self, field):
        if len(";".join(parse_skills(field.data))) > SKILLS_LIMIT:
            raise ValidationError(_l("This list of skills is longer than %(limit)d characters.",
                                     limit=SKILLS_LIMIT))

    validate_required_skills = _validate_skills
    validate_preferred_skills = _validate_skills

    def validate_monthly_salary_jpy(self, field):
        # Not a refusal: a low figure is asked about once (an unchanged one is not again).
        if (field.data is not None and field.data < LOW_MONTHLY_SALARY
                and field.data != self._stored_salary and not self.confirm_low_salary.data):
            self.asks_salary_confirmation = True
            raise ValidationError(_l(
                "%(amount)s a month is below the minimum wage of every prefecture. Check the "
                "amount (a monthly salary in yen, before deductions), or tick the box below "
                "to keep it.", amount=fmt_yen(field.data)))

    asks_salary_confirmation = False

    def job_data(self) -> dict:
        """The cleaned values in the shape ``operations.jobs`` expects."""
        data = {name: f.data for name, f in self._fields.items()
                if name not in ("csrf_token", "submit", "save_draft", "confirm_low_salary")}
        for key in ("employer_id", "agency_id"):
            data[key] = int(data[key]) if data.get(key) else None
        for key in ("required_skills", "preferred_skills"):
            data[key] = parse_skills(data.get(key))
        if "save_draft" in self._fields:  # creating: two buttons, draft or published
            data["status"] = "draft" if self.save_draft.data else "open"
        return data


def job_form_data(job) -> dict:
    """A stored job order as form ``data`` (skills as the text a person types)."""
    return {
        "external_id": job.external_id, "title": job.title, "field": job.field,
        "required_skills": "; ".join(job.required_skill_list),
        "preferred_skills": "; ".join(job.preferred_skill_list),
        "min_language_level": job.min_language_level, "headcount": job.headcount,
        "prefecture": job.prefecture or "", "monthly_salary_jpy": job.monthly_salary_jpy,
        "start_date": job.start_date, "visa_track": job.visa_track,
        "language_is_hard": job.language_is_hard, "start_window_days": job.start_window_days,
        "contract_months": job.contract_months,
        "agency_id": str(job.agency_id or ""), "status": job.status,
    }


class JobSearchForm(FilterForm):
    """The list's GET filters (``FilterForm``: unknown values filter nothing)."""

    status = SelectField(_l("Status"), validate_choice=False)
    field = SelectField(_l("Field"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = choices(
            ((code, JOB_STATUS_LABELS[code]) for code in JOB_STATUSES), _l("All statuses"))
        self.field.choices = field_choices(locale_code(), _l("All fields"))


class StatusForm(BaseForm):
    """The publish / close / reopen buttons: the wanted status and the CSRF token."""

    status = SelectField(choices=JOB_STATUSES, validate_choice=True,
                         validators=[DataRequired()])
