"""Imports every model so that Base.metadata knows every table (used by migrations)."""

from msc.api.models import ApiToken, WebhookDelivery, WebhookSubscription  # noqa: F401
from msc.beneficiaries.models import (  # noqa: F401
    Beneficiary,
    BeneficiaryChange,
    BlindIndexEntry,
    Consent,
    CorrectionRequest,
    DuplicateCandidate,
    DuplicateDecision,
    Household,
    NameVocabulary,
    SpecificNeed,
)
from msc.cases.models import Assessment, Case, CaseEvent, CaseNote, Task, case_assignments  # noqa: F401
from msc.centres.models import Centre  # noqa: F401
from msc.centres.stays import Stay  # noqa: F401
from msc.continuity.models import Transfer  # noqa: F401
from msc.continuity.onward_models import OnwardMovement  # noqa: F401
from msc.crypto.fields import DataKey  # noqa: F401
from msc.crypto.rotation import KeyRotation  # noqa: F401
from msc.dpo.models import (  # noqa: F401
    AuditCheck,
    Erasure,
    PersonalExport,
    RetentionPolicy,
    RetentionRun,
)
from msc.feedback.models import Feedback  # noqa: F401
from msc.fund.models import (  # noqa: F401
    Application,
    ApplicationLine,
    AuditFinding,
    AuditSample,
    CategoryCap,
    CriteriaSet,
    Decision,
    DecisionLine,
    Disbursement,
    FundAllocation,
)
from msc.imports.models import ImportBatch, ImportMapping, ImportRow  # noqa: F401
from msc.jobs.models import Job  # noqa: F401
from msc.nfi.models import (  # noqa: F401
    Distribution,
    DistributionLine,
    NfiItem,
    StockCount,
    StockLevel,
    StockMovement,
    StockReceipt,
    StockTransfer,
)
from msc.offline.models import OfflineDevice, OfflineRecord  # noqa: F401
from msc.partners.models import Organisation, PartnerService, service_centres  # noqa: F401
from msc.referrals.models import Disclosure, Referral, ReferralEvent, ReferralReminder, ReminderRecipient  # noqa: F401
from msc.reports.models import CarriedCount, ReportCount  # noqa: F401
from msc.security.emergency import BreakGlass  # noqa: F401
from msc.security.models import AuditEvent, User, UserSession, user_centres  # noqa: F401
from msc.shelters.models import Placement, Shelter  # noqa: F401
