"""The finite range of every number in a scenario or sweep file, and the rules for its text.

Every model sets ``allow_inf_nan=False`` (no ``.inf`` or ``.nan``) and gives each numeric field an upper bound
from here, generous for real use. The bounds keep any one amount far inside the integer-cents ledger (int64
cents hold about ±9.2e16 currency units); products of allowed values can still be too large, so a scenario's
largest possible money total is checked against :data:`MONEY_TOTAL_LIMIT` as a whole
(``Scenario.money_check``). ``msp-sim schema`` prints each field's range next to its meaning.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = [
    "CLIENTS",
    "CV_MAX",
    "CV_MIN",
    "ENDPOINTS",
    "FACTOR",
    "LOGIT",
    "LOGIT_SLOPE",
    "MONEY",
    "MONEY_TOTAL_LIMIT",
    "MONTHS",
    "MONTH_HOURS",
    "PREVENTION_HOURS",
    "RATE",
    "REPLICATIONS",
    "SEED",
    "SERVERS",
    "SLA_HOURS",
    "TECHNICIANS",
    "THOROUGHNESS",
    "USERS",
    "VALUE",
    "WORK_HOURS",
    "Label",
    "PathText",
    "Text",
]

MONEY = 1_000_000.0
"""Money per unit: hourly rates, fees per user/endpoint/server-month, prices, credits, costs [currency]."""
USERS = 100_000
"""Users per client [count]."""
ENDPOINTS = 1_000_000
"""Endpoints per client [count]."""
SERVERS = 100_000
"""Servers per client [count]."""
CLIENTS = 100_000
"""Clients per segment (and client slots of a portfolio) [count]."""
TECHNICIANS = 10_000
"""Technicians in a pool, sales staff [count]."""
REPLICATIONS = 100_000
"""Replications of a run, a lever setting or a sweep point [count]."""
SEED = 2**63 - 1
"""Largest seed [integer]."""
MONTHS = 600
"""Longest horizon, and any span in months [months]."""
RATE = 10_000.0
"""Incident rates per user- or endpoint-month, sales wins per month [per month]; one user may stand for a whole
stream of tickets (a queueing check), and 10,000 a month is about 14 an hour."""
VALUE = 1_000_000.0
"""Distribution means and uniform bounds [hours or currency]."""
CV_MIN = 0.001
"""Smallest coefficient of variation (gamma's shape is 1/cv²)."""
CV_MAX = 100.0
"""Largest coefficient of variation."""
FACTOR = 100.0
"""Multipliers, markups and effectiveness coefficients [factor]."""
MONTH_HOURS = 730.0
"""One model month: paid hours per technician-month, billing increments, minimum and capped hours [hours]."""
WORK_HOURS = 10_000.0
"""Technician hours of one job such as onboarding a client [hours]."""
SLA_HOURS = 100_000.0
"""SLA response and resolution targets [hours]."""
PREVENTION_HOURS = 100.0
"""Prevention effort per endpoint-month, in a policy or a searched span [hours/endpoint-month]."""
THOROUGHNESS = 5.0
"""Largest fix thoroughness k (a policy allows 0 < k <= 5) [factor]."""
LOGIT = 50.0
"""Largest churn intercept in absolute value [logit]."""
LOGIT_SLOPE = 1_000.0
"""Largest churn coefficient [logit per unit]."""
MONEY_TOTAL_LIMIT = 1e13
"""Largest money total a scenario may post over its horizon [currency]: about 1/9,000 of what int64 cents hold,
a wide margin for the randomness around the expected totals the check uses."""

NAME_LENGTH = 200
TEXT_LENGTH = 10_000


def _no_control(allowed: str) -> AfterValidator:
    """A validator rejecting control characters (Unicode category Cc) other than those in ``allowed``."""

    def check(value: str) -> str:
        for i, ch in enumerate(value):
            if unicodedata.category(ch) == "Cc" and ch not in allowed:
                raise ValueError(
                    f"contains the control character U+{ord(ch):04X} at position {i + 1}; "
                    "use printable characters only"
                )
        return value

    return AfterValidator(check)


Label = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH), _no_control("")]
"""A name or currency: 1 to 200 characters, no control characters."""
Text = Annotated[str, StringConstraints(max_length=TEXT_LENGTH), _no_control("\n\t")]
"""A description: at most 10,000 characters; newlines and tabs, but no other control characters."""
PathText = Annotated[str, StringConstraints(min_length=1, max_length=4096), _no_control("")]
"""A file path: 1 to 4,096 characters, no control characters."""
