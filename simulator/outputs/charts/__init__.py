"""Charts, one look for all: matplotlib lives here only (DESIGN.md §7).

Every plot function takes ``ax=None`` (a new figure with a source line when None) and returns the Axes. Colours
are Okabe–Ito (colour-blind safe); a contract keeps its colour, by scenario order, on every chart; migration
strategies get their own colours and line styles. Titles state the finding; money is shown in the scenario's
currency, durations in hours.

The shared look is in :mod:`.style`; each study has its own module: :mod:`.comparison` (a run's three panels and
its headlines), :mod:`.revenue`, :mod:`.service` (ticket times), :mod:`.incentives`, :mod:`.transition` and
:mod:`.sweeps` (tornado and break-even), :mod:`.verdict` (how far a run's verdict holds), :mod:`.calibration` (a
ticket history and the model calibrated from it).
"""

from .calibration import arrival_figure, calibration_charts, check_figure, effort_figure, rates_figure
from .comparison import (
    comparison_figure,
    efficiency_headline,
    headline,
    plot_client_cost,
    plot_downtime,
    plot_provider_profit,
    provider_headline,
    unstable_caveat,
)
from .incentives import PREVENTION as PREVENTION
from .incentives import incentives_figure, incentives_headline, plot_incentive_curve, plot_misalignment
from .revenue import plot_revenue_band, revenue_figure
from .service import plot_ticket_times, service_figure, service_headline, share_within
from .style import CONTRACT_STYLES as CONTRACT_STYLES
from .style import CONTRACT_WIDTHS as CONTRACT_WIDTHS
from .style import DOWNTIME_HATCH as DOWNTIME_HATCH
from .style import PALETTE, STRATEGY_PALETTE, contract_colors, format_hours, format_money, source_line
from .style import SOURCE_COLOR as SOURCE_COLOR
from .style import STRATEGY_STYLES as STRATEGY_STYLES
from .sweeps import OUTCOME_LABELS as OUTCOME_LABELS
from .sweeps import break_even_figure, plot_break_even, plot_tornado, tornado_figure
from .transition import (
    plot_cash,
    plot_clients,
    plot_enterprise_value,
    plot_mrr_share,
    plot_transition_revenue,
    transition_figure,
)
from .verdict import fee_window_sentence, input_value, plot_verdict, switching_sentence, verdict_figure

__all__ = [
    "PALETTE",
    "STRATEGY_PALETTE",
    "arrival_figure",
    "break_even_figure",
    "calibration_charts",
    "check_figure",
    "comparison_figure",
    "contract_colors",
    "efficiency_headline",
    "effort_figure",
    "fee_window_sentence",
    "format_hours",
    "format_money",
    "headline",
    "incentives_figure",
    "incentives_headline",
    "input_value",
    "plot_break_even",
    "plot_cash",
    "plot_client_cost",
    "plot_clients",
    "plot_downtime",
    "plot_enterprise_value",
    "plot_incentive_curve",
    "plot_misalignment",
    "plot_mrr_share",
    "plot_provider_profit",
    "plot_revenue_band",
    "plot_ticket_times",
    "plot_tornado",
    "plot_transition_revenue",
    "plot_verdict",
    "provider_headline",
    "rates_figure",
    "revenue_figure",
    "service_figure",
    "service_headline",
    "share_within",
    "source_line",
    "switching_sentence",
    "tornado_figure",
    "transition_figure",
    "unstable_caveat",
    "verdict_figure",
]
