"""The metrics a run reports, each with its meaning and unit, and those reported by month."""

from __future__ import annotations

__all__ = ["METRICS", "MONTHLY_METRICS"]

METRICS: dict[str, str] = {
    "provider_revenue": "All the client pays the provider, net of SLA credits [currency]",
    "provider_labour_cost": "Technician labour cost (paid or worked hours) [currency]",
    "provider_tools_cost": "Monitoring/PSA tooling and security stack cost [currency]",
    "provider_parts_cost": "Parts at cost [currency]",
    "provider_cost": "Service delivery cost: labour + tools + parts [currency]",
    "provider_gross_profit": "Revenue − service delivery cost [currency]",
    "provider_gross_margin": "Gross profit / revenue [share]",
    "provider_overhead": "Overhead beyond service delivery: fixed per month + a share of revenue [currency]",
    "provider_net_profit": "Gross profit − overhead [currency]",
    "provider_net_margin": "Net profit / revenue [share]",
    "revenue_monthly_mean": "Mean monthly revenue [currency/month]",
    "revenue_monthly_cv": "Coefficient of variation of monthly revenue (lower = more predictable) [ratio]",
    "client_fees": "All the client pays the provider (= provider_revenue) [currency]",
    "client_downtime_cost": "Lost productivity, staff time on incidents not called in, site outages [currency]",
    "client_it_cost": "The client's own IT's time on the tickets it takes under co-management [currency]",
    "client_total_cost": "Fees + downtime cost + own IT cost [currency]",
    "client_monthly_cost_cv": "Coefficient of variation of the client's monthly total cost [ratio]",
    "client_monthly_cost_p95": "95th-percentile month of the client's total cost [currency/month]",
    "social_cost": "Provider's service delivery cost + client downtime and own IT cost (payments cancel; overhead "
    "left out) [currency]",
    "incidents": "Incidents that occurred (after prevention, with recurrences) [count]",
    "tickets": "Incidents that reached a technician [count]",
    "onsite_tickets": "Tickets with an on-site visit [count]",
    "self_handled": "Incidents the client's staff worked around without calling [count]",
    "auto_remediated": "Incidents fixed by monitoring without a technician [count]",
    "client_it_handled": "Tickets the client's own IT took under co-management, never reaching the provider "
    "[count]",
    "client_it_hours": "The client's own IT's hands-on hours on them [hours]",
    "recurrences": "Incidents that were recurrences of a fix that did not hold [count]",
    "prevented": "Incidents removed by prevention [count]",
    "stopped_by_security": "Incidents a security stack stopped (those prevention did not remove first) [count]",
    "downtime_user_hours": "Blocked user-hours (partial loss weighted) [user-hours]",
    "downtime_hours_per_user_year": "Downtime user-hours per user and year [hours/user-year]",
    "mean_response_hours": "Ticket created to technician starts, mean [business hours]",
    "p90_response_hours": "Ticket created to technician starts, 90th percentile [business hours]",
    "mean_resolution_hours": "Ticket created to resolved, mean [business hours]",
    "p90_resolution_hours": "Ticket created to resolved, 90th percentile [business hours]",
    "sla_breaches": "In-scope tickets that missed a response or resolution target [count]",
    "sla_compliance": "Share of in-scope tickets meeting both targets [share]",
    "sla_credits": "Credits paid to clients [currency]",
    "technician_utilization": "Hours worked / productive hours of the pool (its on-duty hours × productive / paid "
    "hours per technician) [share]",
    "technician_hours_worked": "Hands-on, travel and prevention hours [hours]",
    "prevention_hours": "Prevention hours worked [hours]",
    "offered_load": "Technician work arriving (tickets' hands-on and travel hours, prevention hours) / productive "
    "hours of the pool; 1 or more: work comes in at least as fast as the pool can do it and the queue grows "
    "without bound [ratio]",
    "backlog_hours_at_end": "Work still queued or in progress at the end of the horizon (done after it) [hours]",
    "marginal_profit_per_incident": "Revenue an incident brings (its invoice lines, less the average SLA credit per "
    "incident) minus its direct cost (hands-on and travel hours at the technician hour cost, parts) [currency]",
}

MONTHLY_METRICS = (
    "provider_revenue",
    "provider_cost",
    "provider_gross_profit",
    "provider_overhead",
    "provider_net_profit",
    "client_fees",
    "client_downtime_cost",
    "client_it_cost",
    "client_total_cost",
    "sla_credits",
    "incidents",
    "tickets",
    "downtime_user_hours",
)
