"""How far a run's verdict holds: the switching values of its decisive inputs, the client's saving over their
ranges, and the fee window of each managed contract.

Two questions are asked of every input: at what value does the client's cheapest contract (lowest fees plus
downtime) change, and at what value does the most efficient contract (lowest social cost: the provider's service
delivery cost plus the client's downtime, payments cancelling) change. Inputs that change only money (fees, rates,
credits, the cost of downtime, the provider's hour and tools cost) are answered exactly by billing the same
tickets again at each value (contracts are pure functions of the ticket log); the others by a bracketing search
of re-simulations on common random numbers. The ranges come from the scenario's ``robustness:`` section, or
defaults built from the scenario (:func:`default_inputs`).

Modules: ``inputs`` (what an input sets, the defaults), ``pricing`` (re-pricing), ``search`` (grid scan and
bisection), ``study`` (the verdict table and the fee window).
"""

from .inputs import Input, default_inputs, fee_field, money_only, resolve_inputs
from .pricing import QUESTIONS, downtime_rates
from .study import Verdict, analyze_verdict, verdict_inputs, verdict_simulations

__all__ = [
    "QUESTIONS",
    "Input",
    "Verdict",
    "analyze_verdict",
    "default_inputs",
    "downtime_rates",
    "fee_field",
    "money_only",
    "resolve_inputs",
    "verdict_inputs",
    "verdict_simulations",
]
