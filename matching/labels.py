"""The translated label of every stored code, in one place.

Each table maps a code kept in the database (a status, a stage, a decision, a level...) to a
lazy message (``_l``), so it follows the reader's locale; each ``xxx_label(code)`` returns
the label as text, or the code itself when it has none (a value from an older version still
shows). Forms build their choices from these tables, operations quote them in messages, and
``TEMPLATE_GLOBALS`` gives the functions to every template.
"""

from datetime import date
from functools import partial

from matching.i18n import _l, _lp, fmt_date
from matching.vocab.languages import certificate_level_name, declared_level_name, japanese_rank

# -- people and organisations ---------------------------------------------------------------

STATUS_LABELS = {
    "available": _l("Available"),
    "in_process": _l("In process"),
    "deployed": _l("Deployed"),
    "returned": _l("Returned"),
    "withdrawn": _l("Withdrawn"),
}
GENDER_LABELS = {"F": _l("Female"), "M": _l("Male"), "X": _l("Other")}
ROLE_LABELS = {
    "admin": _l("Platform administrator"),
    "department": _l("Labour department"),
    "employer": _l("Employer"),
    "agency": _l("Dispatch agency"),
    "worker": _l("Worker"),
}
ORG_KIND_LABELS = {
    "platform": _l("Platform"),
    "department": _l("Labour department"),
    "school": _l("Vocational school"),
    "employer": _l("Employer"),
    "agency": _l("Dispatch agency"),
}

# -- languages ------------------------------------------------------------------------------

#: Japanese levels whose code is not already their name (N1...N5 show as they are): each as
#: its test names it ("JFT-Basic A2", "CEFR B1"), never a bare CEFR code.
LEVEL_LABELS = {"none": _l("None"), "JFT-A2": _l("JFT-Basic A2")} | {
    code: f"CEFR {code}" for code in ("A1", "A2", "B1", "B2", "C1", "C2")}
LANGUAGE_LABELS = {"ja": _l("Japanese"), "ko": _l("Korean"), "de": _l("German"),
                   "en": _l("English")}
#: ``Trainee.language_rank`` above the JLPT scale, raised by a certificate in another language.
CEFR_NAMES = {1: "A1", 2: "A2", 3: "B1", 4: "B2", 5: "C1", 6: "C2"}

# -- job orders and decisions ---------------------------------------------------------------

JOB_STATUS_LABELS = {
    "draft": _l("Draft"),
    "open": _l("Open"),
    "filled": _l("Filled"),
    "closed": _l("Closed"),
}
DECISION_LABELS = {
    "shortlisted": _l("Shortlisted"),
    "interviewed": _l("Interviewed"),
    "selected": _l("Selected"),
    "rejected": _l("Rejected"),
}
#: The decision buttons, as verbs.
DECISION_ACTIONS = {
    "shortlisted": _l("Shortlist"),
    "interviewed": _l("Mark as interviewed"),
    "selected": _l("Select"),
    "rejected": _l("Reject"),
}
VISA_LABELS = {
    "TITP": _l("TITP – Technical Intern Training"),
    "SSW1": _l("SSW1 – Specified Skilled Worker (i)"),
    "SSW2": _l("SSW2 – Specified Skilled Worker (ii)"),
    "ESD": _l("ESD – Employment for Skill Development"),
}
#: What each ranking feature means to an employer (every key of ``ranking.features.FEATURES``).
FEATURE_LABELS = {
    "required_coverage": _l("Required skills"),
    "preferred_coverage": _l("Preferred skills"),
    "required_all": _l("Has every required skill"),
    "field_match": _l("Trained in the job's field"),
    "field_x_required": _l("Required skills within the job's field"),
    "language_above": _l("Japanese above the minimum level"),
    "language_below": _l("Levels below the minimum Japanese level"),
    "below_minimum": _l("Does not reach the minimum Japanese level"),
    "experience_log": _l("Work experience"),
    "training": _l("Training hours"),
    "prefecture_match": _l("Wishes to work in the job's prefecture"),
    "available_by_start": _l("Available by the start date"),
}

# -- dispatch -------------------------------------------------------------------------------

STAGE_LABELS = {
    # The first stage, not the decision "Selected": Japanese says 内定 here, 採用内定 there.
    "selected": _lp("dispatch stage", "Selected"),
    "contracted": _l("Contract signed"),
    "training": _l("Pre-departure training"),
    "coe_applied": _l("COE applied for"),
    "coe_issued": _l("COE issued"),
    "visa_applied": _l("Visa applied for"),
    "visa_issued": _l("Visa issued"),
    "departed": _l("Departed"),
    "deployed": _l("At work"),
    "completed": _l("Contract completed"),
    "withdrawn": _l("Withdrawn"),
    "denied": _l("Denied"),
    "early_return": _l("Returned early"),
}
DOCUMENT_KIND_LABELS = {
    "passport": _l("Passport"),
    "health_check": _l("Health certificate"),
    "tb_certificate": _l("Tuberculosis certificate"),
    "language_certificate": _l("Language certificate"),
    "contract": _l("Employment contract"),
    "coe": _l("Certificate of Eligibility (COE)"),
    "visa": _l("Visa"),
    "flight": _l("Flight ticket"),
    "receipt": _l("Receipt"),
}

# -- fee ledger (issue 13) ------------------------------------------------------------------

CHARGE_KIND_LABELS = {
    "service_fee": _l("Service fee"),
    "brokerage": _l("Brokerage"),
    "deposit": _l("Deposit, guarantee or penalty"),
    "training": _l("Training"),
    "language_course": _l("Language course"),
    "accommodation": _l("Accommodation"),
    "medical": _l("Medical examination"),
    "visa": _l("Visa fee"),
    "flight": _l("Flight"),
    "documents": _l("Documents and certificates"),
    "other": _l("Other cost"),
    "service_fee_refund": _l("Service fee refund"),
    "compensation": _l("Compensation to the worker"),
}
PAYER_LABELS = {"worker": _l("The worker"), "employer": _l("The employer"),
                "agency": _l("The agency")}
TRACK_STAGE_LABELS = {
    "": _l("First contract on this track"),
    "titp_3_same_employer": _l("TITP No. 3 with the same enterprise"),
    "ssw_after_titp": _l("SSW after completing TITP"),
}

# -- grievances (issue 13 §4) -----------------------------------------------------------------

GRIEVANCE_CATEGORY_LABELS = {
    "fees": _l("Fees and money"),
    "contract": _l("Contract"),
    "wages": _l("Wages"),
    "working_hours": _l("Working hours"),
    "safety": _l("Safety at work"),
    "harassment": _l("Harassment or abuse"),
    "accommodation": _l("Accommodation"),
    "documents": _l("Documents and personal data"),
    "other": _l("Something else"),
}
GRIEVANCE_STATE_LABELS = {
    "open": _lp("grievance state", "Open"),
    "acknowledged": _l("Acknowledged"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}


def label(mapping: dict, code: str | None) -> str:
    """``mapping``'s label of ``code`` as text; the code itself when it has none."""
    return str(mapping.get(code, code or ""))


# One function per table, ``xxx_label(code)``: what code, forms and templates call.
status_label = partial(label, STATUS_LABELS)  # a trainee's registry status
gender_label = partial(label, GENDER_LABELS)
role_label = partial(label, ROLE_LABELS)
org_kind_label = partial(label, ORG_KIND_LABELS)
language_label = partial(label, LANGUAGE_LABELS)
job_status_label = partial(label, JOB_STATUS_LABELS)
decision_label = partial(label, DECISION_LABELS)
decision_action = partial(label, DECISION_ACTIONS)
visa_label = partial(label, VISA_LABELS)
feature_label = partial(label, FEATURE_LABELS)
stage_label = partial(label, STAGE_LABELS)
document_kind_label = partial(label, DOCUMENT_KIND_LABELS)
grievance_category_label = partial(label, GRIEVANCE_CATEGORY_LABELS)
grievance_state_label = partial(label, GRIEVANCE_STATE_LABELS)
charge_kind_label = partial(label, CHARGE_KIND_LABELS)
payer_label = partial(label, PAYER_LABELS)
track_stage_label = partial(label, TRACK_STAGE_LABELS)


def level_label(code: str | None) -> str:
    """How a Japanese level code is shown: "None", "JFT-Basic A2", otherwise the code."""
    return label(LEVEL_LABELS, code or "none")


def cefr_name(rank: int | None, missing: str = "—") -> str:
    """The CEFR level of a language rank (1 → A1 ... 6 → C2), ``missing`` for any other."""
    return CEFR_NAMES.get(rank or 0, missing)


def certificate_label(cert) -> str:
    """A certificate's level as its test names it ("JLPT N2", "TOPIK 3"); a score-only
    certificate by its score ("EPS-TOPIK, 152 points")."""
    name = certificate_level_name(cert.test, cert.level)
    if not cert.level and cert.score is not None:
        return str(_l("%(test)s, %(score)s points", test=name, score=cert.score))
    return name


def effective_certificate(trainee):
    """The Japanese certificate the trainee's effective level (``language_rank``) comes from:
    the latest one at that rank, when it is at least the declared level; else None (the
    level is the declared one, or there is none)."""
    rank = trainee.language_rank or 0
    if rank <= 0:
        return None
    best = [c for c in trainee.certificates if c.language == "ja" and (c.cefr_rank or 0) == rank]
    return max(best, key=lambda c: c.issued_on or date.min, default=None)


def effective_level_label(trainee) -> str:
    """The level matching uses, as its test names it: "JLPT N2" from a certificate, the
    declared level otherwise ("N4", "JFT-Basic A2"), "None" without either."""
    cert = effective_certificate(trainee)
    if cert is not None:
        return certificate_label(cert)
    if japanese_rank(trainee.japanese_level) == (trainee.language_rank or 0):
        return level_label(trainee.japanese_level)
    return declared_level_name(trainee.japanese_level) or level_label("none")


def level_source(trainee) -> str:
    """In words, where the effective level comes from: which certificate, or the
    declaration."""
    cert = effective_certificate(trainee)
    if cert is not None:
        if cert.issued_on:
            return str(_l("From the %(certificate)s certificate issued on %(date)s.",
                          certificate=certificate_label(cert), date=fmt_date(cert.issued_on)))
        return str(_l("From the %(certificate)s certificate.",
                      certificate=certificate_label(cert)))
    if (trainee.japanese_level or "none") == "none":
        return str(_l("No Japanese level declared and no certificate recorded."))
    return str(_l("Declared by the department; no certificate recorded at this level."))


#: Every label function, under the name templates call it by.
TEMPLATE_GLOBALS = {
    "status_label": status_label, "gender_label": gender_label, "role_label": role_label,
    "org_kind_label": org_kind_label, "level_label": level_label,
    "language_label": language_label, "cefr_name": cefr_name,
    "job_status_label": job_status_label, "decision_label": decision_label,
    "decision_action": decision_action, "visa_label": visa_label,
    "stage_label": stage_label, "document_kind_label": document_kind_label,
    "certificate_label": certificate_label, "effective_level_label": effective_level_label,
    "level_source": level_source, "grievance_category_label": grievance_category_label,
    "grievance_state_label": grievance_state_label, "charge_kind_label": charge_kind_label,
    "payer_label": payer_label, "track_stage_label": track_stage_label,
}
