"""Contracts (DESIGN.md §3): one module per kind — its terms, its bill, its money estimate and its terms in plain
words — plus what the kinds share (:mod:`.base`, :mod:`.lines`), the SLA and credit terms (:mod:`.sla`) and the
ledger in whole cents (:mod:`.ledger`).

Pure: a contract turns the ticket log into ledger entries and never draws a random number or touches a clock.
The rest of the package uses a contract through :class:`~simulator.contracts.base.ContractKind`; it never asks
which kind a contract is. A new kind is one module and its entry in :data:`Contract`.
"""

from typing import Annotated, get_args

from pydantic import Field

from .base import (
    CoManaged,
    ContractKind,
    ContractModel,
    Exposure,
    KindExposure,
    Policy,
    Size,
    Term,
    TmTerms,
    Words,
)
from .block_hours import BlockHours, Draws, Rollover
from .cost_sharing import CostSharing
from .fixed_price import FixedPrice
from .managed import Included, Inclusions, Managed, VolumeBreak
from .monitoring_plus_tm import MonitoringPlusTm
from .sla import (
    PRIORITIES,
    ComplianceTier,
    ComplianceTiers,
    CreditScheme,
    PerBreach,
    PerDowntimeHour,
    SlaMonth,
    SlaTarget,
    SlaTerms,
)
from .terms import TermPricing
from .time_and_materials import TimeAndMaterials

__all__ = [
    "KINDS",
    "PRIORITIES",
    "BlockHours",
    "CoManaged",
    "ComplianceTier",
    "ComplianceTiers",
    "Contract",
    "ContractKind",
    "ContractModel",
    "CostSharing",
    "CreditScheme",
    "Draws",
    "Exposure",
    "FixedPrice",
    "Included",
    "Inclusions",
    "KindExposure",
    "Managed",
    "MonitoringPlusTm",
    "PerBreach",
    "PerDowntimeHour",
    "Policy",
    "RateCard",
    "Rollover",
    "Size",
    "SlaMonth",
    "SlaTarget",
    "SlaTerms",
    "Term",
    "TermPricing",
    "TimeAndMaterials",
    "TmTerms",
    "VolumeBreak",
    "Words",
]

Contract = Annotated[
    TimeAndMaterials | FixedPrice | BlockHours | MonitoringPlusTm | Managed | CostSharing,
    Field(discriminator="kind"),
]
"""Any contract, chosen by ``kind``: the one place that lists the kinds."""

KINDS: tuple[type[ContractKind], ...] = get_args(get_args(Contract)[0])
"""Every contract kind, in the order the schema lists them."""
