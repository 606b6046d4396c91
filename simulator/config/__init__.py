"""Scenario files (DESIGN.md §6): the validated scenario model, YAML reading and writing, overrides, and the error
messages that name the file, the field and the fix. ``msp-sim schema`` prints the model as the file reference.

Modules: ``sections`` (calendar, clients, incidents, provider), ``incentive_settings``, ``portfolio``,
``security`` (security stacks), ``scenario`` (the whole file and its cross-field checks), ``money`` (the money
limit), ``reading`` (YAML in and out), ``overrides`` (``--set``), ``errors`` (the messages), ``loading``
(``load_scenario``), ``schema``.
"""

from .benchmarks import BENCHMARK_FIGURES, Benchmark, BenchmarkOverride, BenchmarkRange, shipped_benchmarks
from .errors import ScenarioError, fix_for, format_validation_error
from .incentive_settings import (
    Design,
    IncentiveSettings,
    LeverSpace,
    Objective,
    Relationship,
    Span,
    Staffing,
    ThoroughnessSpan,
)
from .loading import load_scenario
from .money import Term
from .overrides import apply_overrides, parse_override
from .portfolio import (
    AcceptanceLogit,
    Churn,
    EvMultiple,
    Finance,
    Hiring,
    Portfolio,
    Sales,
    StartingClients,
    Strategy,
)
from .reading import MAX_DEPTH, MAX_NODES, dump_scenario, dump_yaml, read_yaml
from .risk import Risk
from .robustness import Robustness, RobustnessInput
from .scenario import Scenario, priorities
from .sections import (
    DAY_NAMES,
    MAJOR,
    PRIORITY_MATRIX,
    Behaviour,
    BlockingBehaviour,
    Calendar,
    Category,
    ClientSegment,
    Incidents,
    MajorIncidents,
    Overhead,
    Parts,
    PriceResponse,
    PriorityFromImpact,
    Provider,
    Recurrence,
    Triage,
)
from .security import SecurityStack

__all__ = [
    "BENCHMARK_FIGURES",
    "DAY_NAMES",
    "MAJOR",
    "MAX_DEPTH",
    "MAX_NODES",
    "PRIORITY_MATRIX",
    "AcceptanceLogit",
    "Behaviour",
    "Benchmark",
    "BenchmarkOverride",
    "BenchmarkRange",
    "BlockingBehaviour",
    "Calendar",
    "Category",
    "Churn",
    "ClientSegment",
    "Design",
    "EvMultiple",
    "Finance",
    "Hiring",
    "IncentiveSettings",
    "Incidents",
    "LeverSpace",
    "MajorIncidents",
    "Objective",
    "Overhead",
    "Parts",
    "Portfolio",
    "PriceResponse",
    "PriorityFromImpact",
    "Provider",
    "Recurrence",
    "Relationship",
    "Risk",
    "Robustness",
    "RobustnessInput",
    "Sales",
    "Scenario",
    "ScenarioError",
    "SecurityStack",
    "Span",
    "Staffing",
    "StartingClients",
    "Strategy",
    "Term",
    "ThoroughnessSpan",
    "Triage",
    "apply_overrides",
    "dump_scenario",
    "dump_yaml",
    "fix_for",
    "format_validation_error",
    "load_scenario",
    "parse_override",
    "priorities",
    "read_yaml",
    "shipped_benchmarks",
]
