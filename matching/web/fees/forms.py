"""The fee ledger's forms: a payment, the signed contract, an exchange rate."""

from datetime import date

from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from matching.i18n import _l, locale_code
from matching.labels import CHARGE_KIND_LABELS, PAYER_LABELS, TRACK_STAGE_LABELS
from matching.models import ALL_CHARGE_KINDS, CURRENCIES, PAYERS
from matching.operations.fees import MAX_CONTRACT_MONTHS, MAX_WAGE
from matching.operations.imports.fees import parse_amount
from matching.operations.imports.parsing import CellError
from matching.validation import PAST_EVENT, DateWithin
from matching.web.dispatch.forms import DOCUMENT_EXTENSIONS
from matching.web.forms import INVALID_CHOICE, INVALID_DATE, STRIP, Form, choices, field_choices
from matching.web.jobs.forms import YenField, organisation_choices, prefecture_choices


class AmountField(StringField):
    """A whole amount as people type it ("15.000.000", "15,000,000 đ"): the import's rule."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.amount = None
        if self.data:
            try:
                self.amount = parse_amount(self.data)
            except CellError as exc:
                self.amount_error = exc.message

    def pre_validate(self, form):
        if self.data and self.amount is None:
            raise ValidationError(getattr(self, "amount_error", INVALID_CHOICE))


class ChargeForm(Form):
    """One payment of the ledger."""

    kind = SelectField(_l("What for"), invalid_choice_message=INVALID_CHOICE)
    amount = AmountField(_l("Amount"), filters=STRIP, validators=[
        InputRequired(_l("Enter the amount paid."))])
    currency = SelectField(_l("Currency"), default="VND", invalid_choice_message=INVALID_CHOICE)
    paid_on = DateField(_l("Paid on"), default=date.today, invalid_value_message=INVALID_DATE,
                        validators=[InputRequired(_l("Enter the date it was paid.")),
                                    DateWithin(PAST_EVENT)])
    payer = SelectField(_l("Paid by"), default="worker", invalid_choice_message=INVALID_CHOICE)
    payee = StringField(_l("Paid to"), filters=STRIP, validators=[
        Optional(), Length(max=200, message=_l("This text is longer than %(max)d characters."))])
    receipt_no = StringField(_l("Receipt number"), filters=STRIP, validators=[
        Optional(), Length(max=64, message=_l("This text is longer than %(max)d characters."))])
    note = TextAreaField(_l("Note"), filters=STRIP, validators=[
        Optional(), Length(max=1000, message=_l("The note can have at most %(max)d characters."))])
    file = FileField(_l("Receipt (PDF, JPEG or PNG, optional)"), validators=[
        FileAllowed(DOCUMENT_EXTENSIONS, _l("Only PDF, JPEG and PNG files can be attached."))])
    submit = SubmitField(_l("Record the payment"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = choices((k, CHARGE_KIND_LABELS[k]) for k in ALL_CHARGE_KINDS)
        self.payer.choices = choices((p, PAYER_LABELS[p]) for p in PAYERS)
        self.currency.choices = choices((c, c) for c in CURRENCIES)

    def charge_data(self) -> dict:
        upload = self.file.data if getattr(self.file.data, "filename", "") else None
        return {"kind": self.kind.data, "amount": self.amount.amount,
                "currency": self.currency.data, "paid_on": self.paid_on.data,
                "payer": self.payer.data, "payee": self.payee.data,
                "receipt_no": self.receipt_no.data, "note": self.note.data, "upload": upload}


class ContractForm(Form):
    """The contract as signed (prefilled from the job order at ``contracted``)."""

    wage_jpy = YenField(_l("Monthly basic wage (yen)"),
                        invalid_value_message=_l("Enter the wage as a whole number of yen, for "
                                                 "example 215000."),
                        validators=[Optional(), NumberRange(min=1, max=MAX_WAGE, message=_l(
                            "Enter a monthly wage from %(min)s to %(max)s yen."))])
    months = IntegerField(_l("Contract length (months)"),
                          invalid_value_message=_l("Enter a whole number of months, for "
                                                   "example 36."),
                          validators=[Optional(), NumberRange(
                              min=1, max=MAX_CONTRACT_MONTHS, message=_l(
                                  "Enter a contract length from %(min)s to %(max)s months, or "
                                  "leave it blank."))])
    field = SelectField(_l("Field"), invalid_choice_message=INVALID_CHOICE)
    prefecture = SelectField(_l("Prefecture"), invalid_choice_message=INVALID_CHOICE)
    employer_id = SelectField(_l("Employer"), invalid_choice_message=INVALID_CHOICE)
    track_stage = SelectField(_l("Earlier contracts of this worker"),
                              invalid_choice_message=INVALID_CHOICE)
    return_worker_fault = SelectField(_l("Why the worker returned early"),
                                      invalid_choice_message=INVALID_CHOICE)
    submit = SubmitField(_l("Save the contract"))

    def __init__(self, *args, dispatch, **kwargs):
        super().__init__(*args, **kwargs)
        self.field.choices = field_choices(locale_code(), "—")
        self.prefecture.choices = prefecture_choices("—")
        self.employer_id.choices = choices(
            organisation_choices("employer", keep_id=dispatch.contract_employer_id), "—")
        self.track_stage.choices = choices(TRACK_STAGE_LABELS.items())
        self.return_worker_fault.choices = choices(
            (("", _l("Not said")), ("no", _l("Not the worker's fault")),
             ("yes", _l("The worker's own fault"))))
        if dispatch.stage != "early_return":
            del self.return_worker_fault

    def contract_data(self) -> dict:
        fault = getattr(self, "return_worker_fault", None)
        return {"wage_jpy": self.wage_jpy.data, "months": self.months.data,
                "field": self.field.data or None, "prefecture": self.prefecture.data or None,
                "employer_id": int(self.employer_id.data) if self.employer_id.data else None,
                "track_stage": self.track_stage.data or None,
                "return_worker_fault": {"yes": True, "no": False}.get(
                    fault.data if fault else "")}


def contract_form_data(dispatch) -> dict:
    fault = {True: "yes", False: "no"}.get(dispatch.return_worker_fault, "")
    return {"wage_jpy": dispatch.contract_wage_jpy, "months": dispatch.contract_months,
            "field": dispatch.contract_field or "",
            "prefecture": dispatch.contract_prefecture or "",
            "employer_id": str(dispatch.contract_employer_id or ""),
            "track_stage": dispatch.track_stage or "", "return_worker_fault": fault}


class RateForm(Form):
    """An exchange rate: yen per unit of a currency from a date on."""

    currency = SelectField(_l("Currency"), invalid_choice_message=INVALID_CHOICE)
    valid_on = DateField(_l("Valid from"), default=date.today,
                         invalid_value_message=INVALID_DATE,
                         validators=[InputRequired(_l("Enter the date the rate applies from.")),
                                     DateWithin(PAST_EVENT)])
    rate = StringField(_l("Yen per unit"), filters=STRIP, validators=[
        InputRequired(_l("Enter the rate, for example 0.0059."))])
    source = StringField(_l("Source"), filters=STRIP, validators=[
        Optional(), Length(max=200, message=_l("This text is longer than %(max)d characters."))])
    submit = SubmitField(_l("Save the rate"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = choices([("VND", "VND")])
