"""The domain model (DESIGN §2), one module per aggregate."""

from matching.models.dispatch import (
    DOCUMENT_KINDS,
    EXITS,
    STAGES,
    Dispatch,
    Document,
    Impression,
    StatusEvent,
)
from matching.models.fees import (
    ALL_CHARGE_KINDS,
    CHARGE_KINDS,
    CURRENCIES,
    PAYERS,
    RETURN_KINDS,
    Charge,
    ExchangeRate,
    FeeFlag,
    FeeTotals,
)
from matching.models.grievances import (
    GRIEVANCE_CATEGORIES,
    GRIEVANCE_STATES,
    Grievance,
    GrievanceEvent,
)
from matching.models.jobs import (
    DECISION_GRADES,
    DECISIONS,
    JOB_STATUSES,
    VISA_TRACKS,
    Decision,
    JobOrder,
)
from matching.models.orgs import ORG_KINDS, ROLES, WORKER, Organisation, User
from matching.models.ranking import ModelVersion
from matching.models.registry import RegistryState
from matching.models.tokens import ApiToken
from matching.models.trainees import (
    GENDERS,
    TRAINEE_STATUSES,
    LanguageCertificate,
    Skill,
    SkillAlias,
    Trainee,
    trainee_skills,
)
from matching.models.workers import WageReport, WorkerInvitation

__all__ = [
    "ApiToken",
    "ALL_CHARGE_KINDS",
    "CHARGE_KINDS",
    "CURRENCIES",
    "PAYERS",
    "RETURN_KINDS",
    "Charge",
    "ExchangeRate",
    "FeeFlag",
    "FeeTotals",
    "DOCUMENT_KINDS",
    "Document",
    "EXITS",
    "STAGES",
    "Dispatch",
    "Impression",
    "StatusEvent",
    "DECISIONS",
    "DECISION_GRADES",
    "JOB_STATUSES",
    "VISA_TRACKS",
    "Decision",
    "JobOrder",
    "GENDERS",
    "ORG_KINDS",
    "ROLES",
    "TRAINEE_STATUSES",
    "LanguageCertificate",
    "ModelVersion",
    "Organisation",
    "RegistryState",
    "Skill",
    "SkillAlias",
    "Trainee",
    "User",
    "trainee_skills",
    "GRIEVANCE_CATEGORIES",
    "GRIEVANCE_STATES",
    "WORKER",
    "Grievance",
    "GrievanceEvent",
    "WageReport",
    "WorkerInvitation",
]
