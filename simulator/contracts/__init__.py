"""Contracts (DESIGN.md §3): each kind's terms and bill, the SLA and credit terms, the ledger in whole cents.

Pure: a contract turns the ticket log into ledger entries and never draws a random number or touches a clock."""

from .terms import *  # noqa: F403
from .terms import __all__ as __all__
