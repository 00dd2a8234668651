"""Forms of the admin pages. Choices are filled per request, so their labels follow the locale."""

import sqlalchemy as sa
from flask_babel import gettext as _
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from matching.extensions import db
from matching.i18n import LANGUAGE_NAMES, _l, _lp, locale_code
from matching.labels import ORG_KIND_LABELS, ROLE_LABELS
from matching.models import ORG_KINDS, ROLES, Organisation
from matching.operations.accounts import (
    MIN_PASSWORD_LENGTH,
    ORG_CODE_RE,
    PROVINCIAL_KINDS,
)
from matching.vocab import FIELDS, PROVINCES, field_name, fold
from matching.vocab.skills import skills_for_field
from matching.web.forms import FilterForm, Form, timezone_choices, valid_timezone
from matching.web.params import optional_id


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _slug(value):
    return value.strip().lower() if isinstance(value, str) else value


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, str(ORG_KIND_LABELS[kind])) for kind in ORG_KINDS]


def role_choices() -> list[tuple[str, str]]:
    return [(role, str(ROLE_LABELS[role])) for role in ROLES]


def country_choices() -> list[tuple[str, str]]:
    return [("VN", _("Vietnam")), ("JP", _("Japan"))]


def province_choices() -> list[tuple[str, str]]:
    """The 34 provinces, named and sorted in the reader's language."""
    locale = locale_code()
    named = [(code, p.name(locale)) for code, p in PROVINCES.items()]
    return sorted(named, key=lambda item: fold(item[1]))


def locale_choices() -> list[tuple[str, str]]:
    return [("", _("Browser language")), *LANGUAGE_NAMES.items()]


def organisation_choices(include_schools: bool = False) -> dict[str, list[tuple[int, str]]]:
    """Organisations grouped by kind (an ``<optgroup>`` each), ordered by name."""
    stmt = sa.select(Organisation.id, Organisation.name, Organisation.code, Organisation.kind,
                     Organisation.active).order_by(Organisation.name)
    if not include_schools:
        stmt = stmt.where(Organisation.kind != "school")  # schools have no users
    groups: dict[str, list[tuple[int, str]]] = {}
    rows = db.session.execute(stmt).all()
    for kind in ORG_KINDS:
        options = []
        for org_id, name, code, org_kind, active in rows:
            if org_kind != kind:
                continue
            text = f"{name} ({code})"
            options.append((org_id, text if active else _("%(name)s (inactive)", name=text)))
        if options:
            groups[str(ORG_KIND_LABELS[kind])] = options
    return groups


class OrganisationForm(Form):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    code = StringField(
        _l("Code"), filters=[_slug],
        validators=[DataRequired(), Length(max=64),
                    Regexp(ORG_CODE_RE, message=_l("Use only lower-case letters, digits and "
                                                   "hyphens in the code."))])
    name = StringField(_lp("organisation", "Name"), filters=[_strip],
                       validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    province = SelectField(_l("Province"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()
        self.country.choices = country_choices()
        self.province.choices = [("", _("— none —")), *province_choices()]

    def validate_province(self, field) -> None:
        if self.kind.data in PROVINCIAL_KINDS and not field.data:
            raise ValueError(_("Choose the province of this department or school."))

    def validate_country(self, field) -> None:
        if self.kind.data in PROVINCIAL_KINDS and field.data != "VN":
            raise ValueError(_("A labour department or vocational school must be in Vietnam."))


class _UserFields(Form):
    name = StringField(_l("Name"), filters=[_strip], validators=[Length(max=200)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    organisation = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    locale = SelectField(_l("Preferred language"), default="")
    timezone = SelectField(_l("Time zone"), default="", validate_choice=False,
                           validators=[valid_timezone])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, current_timezone: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()
        self.organisation.choices = organisation_choices()
        self.locale.choices = locale_choices()
        self.timezone.choices = timezone_choices(
            _("The organisation's time zone (Japan time in Japan, Vietnam time in Vietnam)"),
            current_timezone)


class UserCreateForm(_UserFields):
    email = EmailField(_l("E-mail"), filters=[_strip],
                       validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])


class UserEditForm(_UserFields):
    active = BooleanField(_l("Active"))
    password = PasswordField(
        _l("New password"), validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH)])


class OrganisationFilterForm(FilterForm):
    """GET filters of the organisation list."""

    kind = SelectField(_l("Kind"), default="")
    q = StringField(_l("Search"), filters=[_strip])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _("All kinds")), *kind_choices()]


class UserFilterForm(FilterForm):
    """GET filters of the user list; any organisation id narrows (``None`` if not an id)."""

    role = SelectField(_l("Role"), default="")
    organisation = SelectField(_l("Organisation"), coerce=optional_id)
    q = StringField(_l("Search"), filters=[_strip])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _("All roles")), *role_choices()]
        self.organisation.choices = [("", _("All organisations"))] + [
            (str(org_id), text)
            for options in organisation_choices().values() for org_id, text in options]


class SkillMappingForm(Form):
    """Map one custom skill (``custom``, hidden) onto a vocabulary skill (``code``)."""

    custom = HiddenField(validators=[DataRequired()])
    code = SelectField(_l("Vocabulary skill"), validators=[DataRequired()])
    submit = SubmitField(_l("Map"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = locale_code()
        # Grouped by field, in the reader's language; a skill of two fields is in both.
        self.code.choices = [SelectChoice("", _("Choose a skill…"))] + [
            SelectChoice(s.code, s.label(locale), optgroup=field_name(f, locale))
            for f in FIELDS for s in skills_for_field(f)
        ]
