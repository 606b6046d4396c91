"""Incident generation: every incident of one replication at the base (unprevented) rate, drawn in blocks.

Incidents are generated once per replication and shared by every contract (common random numbers, DESIGN.md §5).
Each incident carries its own uniforms; a contract's levers (prevention, monitoring) and the client's behaviour under
it decide what happens to it by comparing those uniforms with thresholds, so a lever moves outcomes monotonically
and two contracts see the same incidents wherever their levers agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.base.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR
from simulator.base.memo import remembered
from simulator.base.records import field_names
from simulator.base.rng import stream, streams
from simulator.config import MAJOR, PRIORITY_MATRIX, Behaviour, Category, ClientSegment, Incidents, Scenario

__all__ = [
    "ClientTable",
    "IncidentFacts",
    "IncidentSet",
    "U",
    "attributes_from_uniforms",
    "client_propensity",
    "client_table",
    "feature_uniforms",
    "generate_incidents",
    "generate_replications",
]


class U:
    """Column of each per-incident uniform in the block drawn for it."""

    PRIORITY = 0
    BLOCKING = 1
    EFFORT = 2
    ONSITE = 3
    TRAVEL = 4
    PARTS_NEEDED = 5
    PARTS_COST = 6
    PREVENT = 7
    CALL_IN = 8
    DETECT = 9
    AUTO = 10
    RECUR = 11
    REPORT_DELAY = 12
    SELF_HANDLING = 13
    TRIAGE = 14
    AUTO_HOURS = 15
    OUTAGE = 16  # major incidents: the outage's length; site-scope categories: which site
    RECUR_DELAY = 17
    COUNT = 18


@dataclass(frozen=True)
class ClientTable:
    """One row per client (segments expanded)."""

    segment: np.ndarray
    users: np.ndarray
    endpoints: np.ndarray
    servers: np.ndarray
    sites: np.ndarray
    downtime_cost: np.ndarray
    site_cost: np.ndarray

    @property
    def count(self) -> int:
        return len(self.segment)

    def users_at_site(self, client: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Users at one site of each ``client``, the site drawn uniformly by ``u`` (the split of
        :meth:`ClientSegment.users_at`)."""
        sites = self.sites[client]
        site = np.minimum(np.floor(u * sites), sites - 1)
        return ClientSegment.users_at(self.users[client], sites, site)


def client_table(scenario: Scenario) -> ClientTable:
    """Expand the client segments into one row per client."""
    seg = np.repeat(np.arange(len(scenario.clients)), [c.count for c in scenario.clients])

    def col(attr: str) -> np.ndarray:
        return np.array([getattr(scenario.clients[s], attr) for s in seg], dtype=float)

    return ClientTable(
        segment=seg,
        users=col("users"),
        endpoints=col("endpoints"),
        servers=col("servers"),
        sites=col("sites"),
        downtime_cost=col("downtime_cost_per_user_hour"),
        site_cost=col("site_outage_cost_per_user_hour"),
    )


@dataclass
class IncidentSet:
    """All incidents of one replication before any contract acts on them; one array entry per incident.

    ``category`` indexes ``scenario.incidents.categories``; the index one past the last means a major incident.
    """

    client: np.ndarray
    category: np.ndarray
    occurred: np.ndarray  # clock [hours]
    priority: np.ndarray  # 1..4
    site: np.ndarray  # bool: whole site affected
    users_affected: np.ndarray
    blocking: np.ndarray  # bool: the incident stops the affected users' work
    blocking_factor: np.ndarray  # 1 when blocking, else the partial productivity loss
    cost_per_user_hour: np.ndarray
    effort: np.ndarray  # hands-on hours at thoroughness 1 without tooling
    onsite: np.ndarray  # bool: needs a visit without monitoring
    onsite_rank: (
        np.ndarray
    )  # in [0, 1) for a visit: it stays on site under monitoring when below 1 − remote_shift
    remote_shift: np.ndarray  # share of visits that full monitoring turns into remote work
    travel: np.ndarray  # hours, when on site
    parts_cost: np.ndarray
    prevent_threshold: (
        np.ndarray
    )  # prevented at prevention e when u_prevent < preventable·(1 − exp(−theta·e))
    u_prevent: np.ndarray
    theta: np.ndarray
    u_call: np.ndarray
    detectable: np.ndarray  # bool
    auto_remediable: np.ndarray  # bool, given detected
    u_recur: np.ndarray
    u_report: np.ndarray  # reporting delay uniform (common to every behaviour)
    u_self: np.ndarray  # self-handling time uniform
    u_triage: np.ndarray
    auto_hours: np.ndarray
    outage_hours: np.ndarray  # major incidents: minimum site outage [business hours]; 0 otherwise
    recur_delay: np.ndarray  # business hours from resolution to recurrence, if it recurs
    # Uniforms of their own streams (see :func:`feature_uniforms`); NaN for a recurrence, which neither uses.
    u_security: np.ndarray  # survives a security stack when below its multiplier for the category
    u_client_it: np.ndarray  # taken by the client's own IT (co-managed) when below its share
    # An extra request raised because calls are free (over-use): the behaviour that raised it, 0 break/fix or
    # 1 managed (it happens only under a contract of that behaviour that charges nothing for it); −1 an incident.
    requester: np.ndarray

    def __len__(self) -> int:
        return len(self.client)

    def take(self, index: np.ndarray | slice) -> IncidentSet:
        """The incidents at ``index`` (a boolean mask, integer index or slice)."""
        return IncidentSet(**{name: getattr(self, name)[index] for name in field_names(type(self))})

    @staticmethod
    def concat(parts: list[IncidentSet]) -> IncidentSet:
        """Join several sets."""
        return IncidentSet(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in field_names(IncidentSet)}
        )


FACTS = (
    "client",
    "category",
    "priority",
    "blocking",
    "occurred",
    "parts_cost",
    "cost_per_user_hour",
    "outage_hours",
    "auto_hours",
    "blocking_factor",
    "users_affected",
    "recur_delay",
)


@dataclass(frozen=True)
class IncidentFacts:
    """What is still needed of incidents once they are routed: for the pool's recurrences and the logs (a slim
    copy: the uniforms and thresholds that decided their fate are not copied again, which halves the peak memory
    of a large run)."""

    client: np.ndarray
    category: np.ndarray
    priority: np.ndarray
    blocking: np.ndarray
    occurred: np.ndarray
    parts_cost: np.ndarray
    cost_per_user_hour: np.ndarray
    outage_hours: np.ndarray
    auto_hours: np.ndarray
    blocking_factor: np.ndarray
    users_affected: np.ndarray
    recur_delay: np.ndarray

    def __len__(self) -> int:
        return len(self.client)

    @staticmethod
    def of(s: IncidentSet) -> IncidentFacts:
        """The facts of ``s`` (its own arrays, not copies)."""
        return IncidentFacts(**{name: getattr(s, name) for name in FACTS})

    @staticmethod
    def concat(parts: list[IncidentFacts]) -> IncidentFacts:
        """Join several (always new arrays)."""
        return IncidentFacts(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in FACTS})

    def take(self, index: np.ndarray, **replace: np.ndarray) -> IncidentFacts:
        """The entries at ``index``; a field given in ``replace`` is taken from that array instead."""
        return IncidentFacts(**{name: replace.get(name, getattr(self, name))[index] for name in FACTS})


def attributes_from_uniforms(
    scenario: Scenario,
    clients: ClientTable,
    client: np.ndarray,
    category: int | np.ndarray,
    occurred: np.ndarray,
    u: np.ndarray,
    features: np.ndarray | None = None,
) -> IncidentSet:
    """Turn a block of uniforms (one row per incident, ``U.COUNT`` columns) into incident attributes; ``category``:
    one for the block or one per incident (one past the last: a major incident); ``features`` are the
    security-stack and client-IT uniforms (two columns; None: NaN, as for a recurrence).

    Every attribute is a function of the incident's own uniforms, client and category: the block may mix
    categories (a replication's incidents are worked out in one block, not one per category)."""
    cats = scenario.incidents.categories
    major = scenario.incidents.major
    provider = scenario.provider
    n = len(client)
    k = np.broadcast_to(np.asarray(category, dtype=np.int16), (n,))
    table = _category_table(scenario)
    is_major = k == len(cats)
    site = table.site[k]
    # A major incident always blocks, needs hands on site and is never auto-remediated: thresholds no uniform
    # reaches (2 above, −1 below).
    blocks = u[:, U.BLOCKING] < table.blocking_share[k]
    blocking = np.where(blocks, 1.0, table.partial_loss[k])
    onsite = u[:, U.ONSITE] < table.onsite_share[k]
    onsite_rank = np.where(onsite & ~is_major, u[:, U.ONSITE] / table.onsite_divisor[k], 0.0)
    priority = np.ones(n, dtype=np.int8)
    effort = np.empty(n)
    parts_cost = np.empty(n)
    outage = np.zeros(n)
    users_affected = np.ones(n)
    present = np.unique(k)
    for c in present:
        m: slice | np.ndarray = slice(None) if len(present) == 1 else np.flatnonzero(k == c)
        if c == len(cats):
            effort[m] = major.effort_hours.ppf(u[m, U.EFFORT])
            parts_cost[m] = major.parts.cost.ppf(u[m, U.PARTS_COST])
            outage[m] = major.downtime_hours.ppf(u[m, U.OUTAGE])
            users_affected[m] = clients.users[client[m]]  # a major incident takes down the whole client
            continue
        cat = cats[c]
        priority[m] = _priority(cat, site[m], blocks[m], u[m, U.PRIORITY])
        effort[m] = cat.effort_hours.ppf(u[m, U.EFFORT])
        parts_cost[m] = cat.parts.cost.ppf(u[m, U.PARTS_COST])
        if cat.scope == "site":
            users_affected[m] = clients.users_at_site(client[m], u[m, U.OUTAGE])  # the site it strikes
    cost = np.where(site, clients.site_cost[client], clients.downtime_cost[client])
    needs_parts = u[:, U.PARTS_NEEDED] < table.parts_probability[k]
    travel = np.where(onsite, provider.travel_hours.ppf(u[:, U.TRAVEL]), 0.0)
    return IncidentSet(
        client=client.astype(np.int32),
        category=k.astype(np.int16),
        occurred=occurred,
        priority=priority,
        site=site,
        users_affected=users_affected,
        blocking=blocks,
        blocking_factor=blocking,
        cost_per_user_hour=cost,
        effort=effort,
        onsite=onsite,
        onsite_rank=onsite_rank,
        remote_shift=table.remote_shift[k],
        travel=travel,
        parts_cost=np.where(needs_parts, parts_cost, 0.0),
        prevent_threshold=table.preventable[k],
        u_prevent=u[:, U.PREVENT],
        theta=table.theta[k],
        u_call=u[:, U.CALL_IN],
        detectable=u[:, U.DETECT] < table.detectable[k],
        auto_remediable=u[:, U.AUTO] < table.auto_remediable[k],
        u_recur=u[:, U.RECUR],
        u_report=u[:, U.REPORT_DELAY],
        u_self=u[:, U.SELF_HANDLING],
        u_triage=u[:, U.TRIAGE],
        auto_hours=provider.auto_remediation_hours.ppf(u[:, U.AUTO_HOURS]),
        outage_hours=outage,
        recur_delay=provider.recurrence.delay_hours.ppf(u[:, U.RECUR_DELAY]),
        u_security=features[:, 0] if features is not None else np.full(n, np.nan),
        u_client_it=features[:, 1] if features is not None else np.full(n, np.nan),
        requester=np.full(n, -1, dtype=np.int8),
    )


@dataclass(frozen=True)
class _CategoryTable:
    """Each category's numbers side by side, indexed by category (the major incident last)."""

    site: np.ndarray
    blocking_share: np.ndarray
    partial_loss: np.ndarray
    onsite_share: np.ndarray
    onsite_divisor: np.ndarray
    remote_shift: np.ndarray
    parts_probability: np.ndarray
    preventable: np.ndarray
    theta: np.ndarray
    detectable: np.ndarray
    auto_remediable: np.ndarray


def _category_table(scenario: Scenario) -> _CategoryTable:
    """The table of the scenario's incident model, made once for its replications (which ask again and again)."""
    model = scenario.incidents
    return remembered("category table", (model,), (), lambda: _make_category_table(model))


def _make_category_table(model: Incidents) -> _CategoryTable:
    cats, major = model.categories, model.major

    def col(values: list[float], last_value: float, dtype: type = float) -> np.ndarray:
        return np.array([*values, last_value], dtype=dtype)

    return _CategoryTable(
        site=col([c.scope == "site" for c in cats], True, bool),
        blocking_share=col([c.blocking_share for c in cats], 2.0),
        partial_loss=col([c.partial_productivity_loss for c in cats], 1.0),
        onsite_share=col([c.onsite_share for c in cats], 2.0),
        onsite_divisor=col([max(c.onsite_share, 1e-300) for c in cats], 1.0),
        remote_shift=col([c.remote_with_monitoring for c in cats], 0.0),
        parts_probability=col([c.parts.probability for c in cats], major.parts.probability),
        preventable=col([c.preventable for c in cats], major.preventable),
        theta=col([c.theta for c in cats], major.theta),
        detectable=col([c.detectable for c in cats], major.detectable),
        auto_remediable=col([c.auto_remediable for c in cats], -1.0),
    )


Take = Callable[[str], np.random.Generator]
"""A replication's named streams: the generator of a stream name (each taken once)."""


def _own_streams(seed: int, replication: int) -> Take:
    return lambda name: stream(seed, replication, name)


def feature_uniforms(take: Take, name: str, n: int) -> np.ndarray:
    """The security-stack and client-IT uniforms (two columns) of the ``n`` incidents drawn from the stream
    ``name``, from a stream of their own (``features/<name>``): drawn whether or not a contract uses them, they
    leave every other stream's numbers as they were."""
    return take(f"features/{name}").random((n, 2))


def _priority(cat: Category, site: np.ndarray, blocks: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Each incident's priority 1..4: drawn from the category's ``priority_mix`` by ``u``, or from impact (site,
    blocking a user, neither) and urgency (blocking, urgent by ``u``, neither) by :data:`PRIORITY_MATRIX`."""
    if cat.priority is None:
        mix = np.array([(cat.priority_mix or {}).get(p, 0.0) for p in ("P1", "P2", "P3", "P4")])
        return (np.searchsorted(np.cumsum(mix)[:-1], u, side="right") + 1).astype(np.int8)
    impact = np.where(site, 0, np.where(blocks, 1, 2))
    urgency = np.where(blocks, 0, np.where(u < cat.priority.urgent_share, 1, 2))
    return np.asarray(PRIORITY_MATRIX, dtype=np.int8)[impact, urgency]


def client_propensity(
    scenario: Scenario, clients: ClientTable, replication: int, seed: int, take: Take | None = None
) -> np.ndarray:
    """Each client's incident propensity in one replication: the multiplier of all its incident rates, drawn from
    its segment's ``incident_propensity`` (mean 1) on a stream of its own per segment; ones for a segment without
    one [factor]. ``take``: the replication's streams, when made already."""
    take = take or _own_streams(seed, replication)
    propensity = np.ones(clients.count)
    for s, segment in enumerate(scenario.clients):
        spread = segment.incident_propensity
        if spread is None:
            continue
        members = np.flatnonzero(clients.segment == s)
        u = take(f"propensity/{segment.name}").random(len(members))
        propensity[members] = spread.ppf(u)
    return propensity


def generate_incidents(
    scenario: Scenario, clients: ClientTable, replication: int, seed: int, extra: float = 0.0
) -> IncidentSet:
    """Every incident of one replication at the base rate, sorted by occurrence time.

    Ordinary incidents arrive as Poisson processes in the users' business time (people break things while they
    work); major incidents arrive as Poisson processes in clock time with yearly rate −ln(1 − annual_probability).
    A client's rates are multiplied by its propensity (:func:`client_propensity`), the same in every pass. The
    extra requests of behaviours that over-use free calls come with them (marked by ``requester``; each contract
    keeps those its behaviour and price allow). With ``extra`` > 0, incidents at that share of every rate are
    added from streams of their own: the same incidents plus more, a process at (1 + extra) times the rate
    (superposed Poisson processes).
    """
    return generate_replications(scenario, clients, [replication], seed, extra)


def generate_replications(
    scenario: Scenario, clients: ClientTable, replications: Sequence[int], seed: int, extra: float = 0.0
) -> IncidentSet:
    """The incidents of each of ``replications`` (each what :func:`generate_incidents` gives it), one
    replication's after the other's, their clients numbered replication by replication (those of the k-th plus
    k × the clients): each replication's draws from its own streams, the attributes of all worked out at once."""
    passes = [(1.0, "incidents")] + ([(extra, f"incidents+{extra:g}")] if extra > 0 else [])
    # Every stream of every replication seeded at once.
    names = [f"propensity/{c.name}" for c in scenario.clients if c.incident_propensity is not None]
    names += [name for _, label in passes for name in _stream_names(scenario, label)]
    made = streams(seed, [(r, name) for r in replications for name in names])
    pieces: list[_Block | IncidentSet] = []
    replication_of: list[int] = []  # the replication (its place) of each piece
    for k, replication in enumerate(replications):
        take = dict(zip(names, made[k * len(names) : (k + 1) * len(names)], strict=True)).pop
        propensity = client_propensity(scenario, clients, replication, seed, take)
        mine = []
        for factor, label in passes:
            mine += _draws(scenario, clients, take, factor, label, propensity)
        pieces += mine
        replication_of += [k] * len(mine)
    blocks = [p for p in pieces if isinstance(p, _Block)]
    sizes = [len(b.client) for b in blocks]
    ordinary = len(scenario.incidents.categories)
    category = np.repeat(np.array([b.category for b in blocks], dtype=np.int16), sizes)
    times = np.concatenate([b.times for b in blocks])
    # Ordinary incidents occur in the users' business time, major ones in clock time.
    occurred = np.where(
        category < ordinary, scenario.calendar.users().clock_time(times, earliest=False), times
    )
    drawn = attributes_from_uniforms(
        scenario,
        clients,
        np.concatenate([b.client for b in blocks]),
        category,
        occurred,
        np.concatenate([b.u for b in blocks]),
        np.concatenate([b.features for b in blocks]),
    )
    if len(blocks) < len(pieces):
        # The extra requests go where they were drawn, between the blocks.
        ends = np.cumsum(sizes)
        parts, b = [], 0
        for piece in pieces:
            if isinstance(piece, _Block):
                parts.append(drawn.take(slice(int(ends[b] - sizes[b]), int(ends[b]))))
                b += 1
            else:
                parts.append(piece)
        drawn = IncidentSet.concat(parts)
        del parts
    lengths = [len(p.client) for p in pieces]
    del pieces, blocks, times, category  # the draws, before the incidents are sorted
    if len(replications) == 1:
        return drawn.take(np.argsort(drawn.occurred, kind="stable"))
    of = np.repeat(np.array(replication_of), lengths)
    drawn.client = drawn.client + (of * clients.count).astype(drawn.client.dtype)
    return drawn.take(np.lexsort((drawn.occurred, of)))  # stable: as each replication sorted alone


@dataclass(frozen=True)
class _Block:
    """One stream's incidents before their attributes: clients, category, times (business hours for an ordinary
    category, clock hours for a major incident), uniforms and feature uniforms."""

    client: np.ndarray
    category: int
    times: np.ndarray
    u: np.ndarray
    features: np.ndarray


def _sources(scenario: Scenario) -> list[tuple[int, int, str]]:
    """The streams a pass of incidents draws from, in the order it draws: (segment, what, name after the pass's
    label), ``what`` a category's index (one past the last: the major incident, drawn when it can happen) or
    −1 − the behaviour whose extra requests it draws."""
    out = []
    categories, major = scenario.incidents.categories, scenario.incidents.major
    for s, segment in enumerate(scenario.clients):
        out += [(s, c, f"{segment.name}/{cat.name}") for c, cat in enumerate(categories)]
        if major.annual_probability > 0:
            out.append((s, len(categories), f"{segment.name}/{MAJOR}"))
        out += [
            (s, -1 - managed, f"{segment.name}/extra-requests/{_BEHAVIOURS[managed]}")
            for managed, behaviour in enumerate(segment.behaviours)
            if behaviour.over_uses
        ]
    return out


def _stream_names(scenario: Scenario, label: str) -> list[str]:
    """The names of the streams :func:`_draws` takes for the pass ``label``."""
    return [
        name
        for _, what, suffix in _sources(scenario)
        for name in (
            (f"{label}/{suffix}", f"features/{label}/{suffix}") if what >= 0 else (f"{label}/{suffix}",)
        )
    ]


def _draws(
    scenario: Scenario,
    clients: ClientTable,
    take: Take,
    factor: float,
    label: str,
    propensity: np.ndarray,
) -> list[_Block | IncidentSet]:
    """The draws of the incidents at ``factor`` times every rate (each client's times its propensity where its
    segment spreads them), from the streams named after ``label`` (taken from ``take``), in the order they come:
    blocks, and the extra requests (made whole) between them."""
    horizon = scenario.horizon_months * HOURS_PER_MONTH
    users_cal = scenario.calendar.users()
    business_horizon = float(users_cal.business_time(horizon))
    categories, major = scenario.incidents.categories, scenario.incidents.major
    out: list[_Block | IncidentSet] = []
    for s, what, suffix in _sources(scenario):
        segment = scenario.clients[s]
        members = np.flatnonzero(clients.segment == s)
        spread = segment.incident_propensity is not None
        rng = take(f"{label}/{suffix}")
        if what < 0:
            managed = -1 - what
            behaviour = segment.behaviours[managed]
            mean = behaviour.extra_requests_per_user_month * segment.users * scenario.horizon_months * factor
            client = np.repeat(members, rng.poisson(mean, len(members)))
            occurred = users_cal.clock_time(rng.random(len(client)) * business_horizon, earliest=False)
            out.append(_extra_requests(scenario, clients, client, occurred, behaviour, managed, rng))
            continue
        if what < len(categories):
            cat = categories[what]
            mean = cat.rate_per_client_month(segment.users, segment.endpoints, segment.sites)
            mean = mean * scenario.horizon_months * factor
            scale = business_horizon  # the users' business time: made clock time with every block's
        else:
            mean = -math.log1p(-major.annual_probability) * horizon / HOURS_PER_YEAR * factor
            scale = horizon  # clock time
        counts = rng.poisson(mean * propensity[members]) if spread else rng.poisson(mean, len(members))
        client = np.repeat(members, counts)
        times = rng.random(len(client)) * scale
        u = rng.random((len(client), U.COUNT))
        out.append(_Block(client, what, times, u, feature_uniforms(take, f"{label}/{suffix}", len(client))))
    return out


_BEHAVIOURS = ("break_fix", "managed")
"""A segment's behaviours by index (0: under break/fix, 1: under a flat fee)."""


def _extra_requests(
    scenario: Scenario,
    clients: ClientTable,
    client: np.ndarray,
    occurred: np.ndarray,
    behaviour: Behaviour,
    managed: int,
    rng: np.random.Generator,
) -> IncidentSet:
    """The extra requests of ``behaviour`` raised by ``client`` at ``occurred``: of its
    ``extra_request_category``, remote, no parts, blocking nobody, P4, always called in (``u_call`` 0), never
    prevented, detected, stopped by a security stack (``u_security`` NaN) or recurring (``u_recur`` 1); their
    effort, reporting delay and triage drawn from ``rng``."""
    n = len(client)
    names = [c.name for c in scenario.incidents.categories]
    category = names.index(str(behaviour.extra_request_category))
    u = rng.random((n, 5))
    zeros, never = np.zeros(n), np.zeros(n, dtype=bool)
    return IncidentSet(
        client=client.astype(np.int32),
        category=np.full(n, category, dtype=np.int16),
        occurred=occurred,
        priority=np.full(n, 4, dtype=np.int8),
        site=never,
        users_affected=np.ones(n),
        blocking=never,
        blocking_factor=zeros,  # a request that blocks nothing costs no downtime
        cost_per_user_hour=clients.downtime_cost[client],
        effort=behaviour.extra_request_effort_hours.ppf(u[:, 0]),
        onsite=never,
        onsite_rank=zeros,
        remote_shift=zeros,
        travel=zeros,
        parts_cost=zeros,
        prevent_threshold=zeros,
        u_prevent=np.ones(n),
        theta=zeros,
        u_call=zeros,
        detectable=never,
        auto_remediable=never,
        u_recur=np.ones(n),
        u_report=u[:, 1],
        u_self=u[:, 2],
        u_triage=u[:, 3],
        auto_hours=zeros,
        outage_hours=zeros,
        recur_delay=zeros,
        u_security=np.full(n, np.nan),
        u_client_it=u[:, 4],
        requester=np.full(n, managed, dtype=np.int8),
    )
