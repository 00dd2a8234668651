"""Registry forms. Choices are built per request in ``__init__`` so labels follow the locale;
every validator and parse error carries its own translatable message.
"""

import re
import unicodedata

from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from matching.i18n import _l, _lp, locale_code
from matching.labels import GENDER_LABELS, LANGUAGE_LABELS, STATUS_LABELS
from matching.models import TRAINEE_STATUSES
from matching.validation import (
    EXPIRES,
    ISSUED,
    PLANNED,
    DateWithin,
    InvalidValue,
    check_birth_date,
)
from matching.vocab import PREFECTURES
from matching.vocab.languages import CERTIFICATE_LANGUAGES, CERTIFICATE_TESTS
from matching.vocab.skills import parse_skills
from matching.web.forms import (
    INVALID_CHOICE,
    INVALID_DATE,
    STRIP,
    FilterForm,
    Form,
    choices,
    field_choices,
    level_choices,
    province_choices,
)

SORT_LABELS = {
    "name": _l("Name"),
    "external_id": _l("Trainee ID"),
    "newest": _l("Newest first"),
    "level": _l("Japanese level"),
    "available_from": _l("Available from"),
}

# Katakana (with the long vowel mark ー and the middle dot ・, both in the block) and spaces.
KATAKANA_RE = re.compile(r"^[\u30A0-\u30FF\u31F0-\u31FF\u3000 ]+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+$")



class LocalDecimalField(DecimalField):
    """A decimal field that also takes a decimal comma ("1,5"), as Vietnamese users type it."""

    def process_formdata(self, valuelist):
        if valuelist:
            valuelist = [v.replace(",", ".") if isinstance(v, str) else v for v in valuelist]
        super().process_formdata(valuelist)



def _kana_filter(value):
    """Half-width katakana (ｸﾞｴﾝ) becomes full-width; runs of spaces become one."""
    if not isinstance(value, str):
        return value
    return " ".join(unicodedata.normalize("NFKC", value).split())


class TraineeForm(Form):
    """Register or edit a trainee. ``user`` decides whether the province can be chosen."""

    external_id = StringField(_l("Trainee ID"), filters=STRIP, validators=[
        DataRequired(_l("Enter the trainee's ID.")),
        Length(max=64, message=_lp("trainee", "The ID can have at most %(max)d characters.")),
    ])
    full_name = StringField(_l("Full name"), filters=STRIP, validators=[
        DataRequired(_l("Enter the trainee's full name.")),
        Length(max=200, message=_l("The name can have at most %(max)d characters.")),
    ])
    name_kana = StringField(_l("Name in katakana"), filters=[_kana_filter], validators=[
        Optional(),
        Length(max=200, message=_l("The name can have at most %(max)d characters.")),
        Regexp(KATAKANA_RE, message=_l("Write the name in katakana only (for example "
                                       "グエン・ヴァン・アン).")),
    ])
    date_of_birth = DateField(_l("Date of birth"), invalid_value_message=INVALID_DATE,
                              validators=[InputRequired(_l("Enter the date of birth."))])
    gender = SelectField(_l("Gender"), default="", invalid_choice_message=INVALID_CHOICE)
    province = SelectField(_l("Province"), invalid_choice_message=INVALID_CHOICE,
                           validators=[DataRequired(_l("Choose a province."))])
    school = StringField(_l("School"), filters=STRIP, validators=[
        Optional(),
        Length(max=200, message=_l("The school name can have at most %(max)d characters.")),
    ])
    field = SelectField(_l("Field"), invalid_choice_message=INVALID_CHOICE,
                        validators=[DataRequired(_l("Choose a field."))])
    skills = StringField(_l("Skills"), filters=STRIP, validators=[
        Optional(),
        Length(max=1000, message=_l("The skills can have at most %(max)d characters.")),
    ])
    japanese_level = SelectField(_l("Japanese level"), default="none",
                                 invalid_choice_message=INVALID_CHOICE)
    training_hours = IntegerField(
        _l("Training hours"), default=0,
        invalid_value_message=_l("Enter a whole number of hours."),
        validators=[Optional(), NumberRange(
            min=0, max=100_000, message=_l("Enter a number of hours from 0 to 100,000."))])
    experience_years = LocalDecimalField(
        _l("Years of experience"), places=1, default=0,
        invalid_value_message=_l("Enter a number, for example 1.5 or 1,5."),
        validators=[Optional(), NumberRange(min=0, max=50,
                                            message=_l("Enter a number from 0 to 50."))])
    preferred_prefectures = SelectMultipleField(
        _l("Preferred prefectures"),
        invalid_choice_message=_l("Choose prefectures from the list."))
    available_from = DateField(_l("Available from"), invalid_value_message=INVALID_DATE,
                               validators=[Optional(), DateWithin(PLANNED)])
    email = EmailField(_l("E-mail"), filters=STRIP, validators=[
        Optional(),
        Email(_l("Enter a valid e-mail address.")),
        Length(max=254, message=_l("The e-mail address is too long.")),
    ])
    phone = StringField(_l("Phone"), filters=STRIP, validators=[Optional()])
    consent = BooleanField(_l("The trainee agreed to be shown to employers"))
    status = SelectField(_l("Status"), invalid_choice_message=INVALID_CHOICE)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        locale = locale_code()
        self.gender.choices = choices(
            ((code, label) for code, label in GENDER_LABELS.items()), _l("Not specified"))
        self.field.choices = field_choices(locale, _l("Choose a field"))
        self.japanese_level.choices = level_choices()
        self.preferred_prefectures.choices = choices(
            (p.code, p.name(locale)) for p in PREFECTURES.values())
        if user.role == "department":
            # A department registers in its own province only: no field to tamper with.
            del self.province
        else:
            self.province.choices = province_choices(locale, _l("Choose a province"))
        if editing:
            self.status.choices = choices(
                (code, STATUS_LABELS[code]) for code in TRAINEE_STATUSES)
        else:
            del self.status

    def validate_date_of_birth(self, field):
        if field.data is None:
            return
        try:
            check_birth_date(field.data)
        except InvalidValue as exc:
            raise ValidationError(exc.message) from None

    def validate_skills(self, field):
        if any(len(slug) > 80 for slug in parse_skills(field.data)):
            raise ValidationError(_l("A skill can have at most %(max)d characters.", max=80))

    def validate_phone(self, field):
        digits = sum(c.isdigit() for c in field.data or "")
        if not _PHONE_CHARS.match(field.data or "") or not 6 <= digits <= 15:
            raise ValidationError(_l("Enter a phone number with 6 to 15 digits, "
                                     "for example +84 912 345 678."))

    def registry_data(self) -> dict:
        """The cleaned values in the shape ``operations.registry`` expects."""
        data = {name: f.data for name, f in self._fields.items()
                if name not in ("csrf_token", "submit")}
        data["skills"] = parse_skills(data.get("skills"))
        data["training_hours"] = data.get("training_hours") or 0
        data["experience_years"] = float(data.get("experience_years") or 0)
        data["gender"] = data.get("gender") or None
        return data


def trainee_form_data(trainee) -> dict:
    """A stored trainee as form ``data`` (skills and prefectures in their form shapes)."""
    return {
        "external_id": trainee.external_id, "full_name": trainee.full_name,
        "name_kana": trainee.name_kana, "date_of_birth": trainee.date_of_birth,
        "gender": trainee.gender or "", "province": trainee.province,
        "school": trainee.school, "field": trainee.field,
        "skills": "; ".join(trainee.skill_slugs), "japanese_level": trainee.japanese_level,
        "training_hours": trainee.training_hours,
        "experience_years": trainee.experience_years,
        "preferred_prefectures": trainee.prefecture_codes,
        "available_from": trainee.available_from, "email": trainee.email,
        "phone": trainee.phone, "consent": trainee.consent, "status": trainee.status,
    }


class SearchForm(FilterForm):
    """The list's GET filters; ``filters()`` is what ``queries.filtered_trainees`` applies."""

    q = SearchField(_l("Search"))
    field = SelectField(_l("Field"), validate_choice=False)
    level = SelectField(_l("Minimum Japanese level"), validate_choice=False)
    status = SelectField(_l("Status"), validate_choice=False)
    school = SelectField(_l("School"), validate_choice=False)
    province = SelectField(_l("Province"), validate_choice=False)
    sort = SelectField(_l("Sort by"), validate_choice=False)
    dir = SelectField(_l("Order"), validate_choice=False)

    def __init__(self, *args, user, schools: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        locale = locale_code()
        self.field.choices = field_choices(locale, _l("All fields"))
        self.level.choices = [SelectChoice("", str(_l("Any level"))),
                              *level_choices(include_none=False)]
        self.status.choices = choices(
            ((code, STATUS_LABELS[code]) for code in TRAINEE_STATUSES), _l("All statuses"))
        self.school.choices = choices(((s, s) for s in schools), _l("All schools"))
        # Only an administrator sees the province filter and column; for the others a province
        # in the URL still narrows (their own province or nothing: never wider than scope).
        self.all_provinces = user.role == "admin"
        self.province.choices = province_choices(locale, _l("All provinces"))
        self.sort.choices = choices(SORT_LABELS.items())
        self.dir.choices = choices((("", _l("Default order")), ("asc", _l("Ascending")),
                                     ("desc", _l("Descending"))))

    def filters(self) -> dict:
        """What narrows and orders the list: the text typed (stripped), and each select's
        value when it is one of its choices (``None`` otherwise: a stale bookmark still
        opens the list). Any school typed filters, as on the import page's hints."""
        values = {name: self.chosen(name)
                  for name in ("field", "level", "status", "province", "sort", "dir")}
        return values | {"q": (self.q.data or "").strip(),
                         "school": (self.school.data or "").strip()}


class CertificateForm(Form):
    """A language certificate on the trainee page."""

    language = SelectField(_l("Language"), default="ja", invalid_choice_message=INVALID_CHOICE)
    test = SelectField(_l("Test"), invalid_choice_message=INVALID_CHOICE)
    level = StringField(_l("Level"), filters=STRIP, validators=[
        Optional(), Length(max=16, message=_l("The level can have at most %(max)d characters."))])
    score = IntegerField(_l("Score"), invalid_value_message=_l("Enter a whole number."),
                         validators=[Optional(), NumberRange(
                             min=0, max=1000, message=_l("Enter a score from 0 to 1000."))])
    issued_on = DateField(_l("Issued on"), invalid_value_message=INVALID_DATE,
                          validators=[InputRequired(_l("Enter the issue date.")),
                                      DateWithin(ISSUED)])
    expires_on = DateField(_l("Expires on"), invalid_value_message=INVALID_DATE,
                           validators=[Optional(), DateWithin(EXPIRES)])
    submit = SubmitField(_l("Add certificate"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = choices((c, LANGUAGE_LABELS[c]) for c in CERTIFICATE_LANGUAGES)
        self.test.choices = choices((t, t) for t in CERTIFICATE_TESTS)

    def validate_expires_on(self, field):
        if field.data and self.issued_on.data and field.data < self.issued_on.data:
            raise ValidationError(_l("The expiry date cannot be before the issue date."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here: the Optional() validators stop the per-field chains on empty input.
        if valid and not self.level.data and self.score.data is None:
            self.level.errors.append(_l("Enter the level or the score."))
            return False
        return valid

    def certificate_data(self) -> dict:
        return {name: self._fields[name].data
                for name in ("language", "test", "level", "score", "issued_on", "expires_on")}
