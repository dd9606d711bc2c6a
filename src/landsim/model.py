"""The land-use model: a ``mesa.Model`` whose yearly step is vectorised.

One year (see docs/ODD.md, "Process overview and scheduling"):

1. farmers form price expectations from the recent price history;
2. social learning: knowledge grows with the share of neighbours who adopted;
3. each farmer values its options by net present value per ha; stage 1: a
   binary logit on abandoning its exhausted annual-crop land (which becomes
   secondary forest); stage 2: a multinomial logit over keep, clear, cocoa
   agroforestry and silvopasture;
4. the chosen land-use changes are applied to explicit cells (forest nearest
   existing fields and roads is cleared first; the least fertile annual-crop
   land is converted first), establishment paid from savings;
5. production and income at this year's prices; savings carry over;
6. soil fertility, cover ages, biomass and soil carbon are updated, and the
   carbon fluxes accounted;
7. the year's indicators are recorded (``model.datacollector``).

All randomness flows from one numpy Generator (``model.rng``, from the seed),
split by ``Generator.spawn`` into independent streams for the landscape, the
farmers, the markets and the yearly decisions, so that changing one process
(e.g. an incentive) leaves the others' draws untouched (common random numbers).
"""

from __future__ import annotations

from copy import deepcopy
from functools import partial
from pathlib import Path
from typing import ClassVar

import mesa
import numpy as np
from scipy import ndimage

from landsim import carbon, limits
from landsim.agents import Farmer, FarmerState, draw_farmers
from landsim.economics import (
    OPTION_NAMES,
    Option,
    cocoa_yield,
    discount_factors,
    draw_choices,
    income_distribution,
    logit_probabilities,
    value_options,
)
from landsim.landscape import (
    COVER_NAMES,
    NO_OWNER,
    Cover,
    Landscape,
    generate_landscape,
    load_landscape,
    rank_within_groups,
)
from landsim.market import PRODUCTS, UNITS, Market
from landsim.scenario import Scenario, load_scenario
from landsim.schemes import Programmes

FOREST = (Cover.PRIMARY_FOREST, Cover.SECONDARY_FOREST)
INCOME_STATS = ("median", "p10", "gini", "poorest_mean")
#: The options valued in stage 2 (abandoning is stage 1's choice).
STAGE2 = (Option.KEEP, Option.CLEAR, Option.COCOA_AGROFORESTRY, Option.SILVOPASTURE)
N_COVERS = len(Cover)


def resolve_scenario(scenario: Scenario | str | Path | None) -> Scenario:
    """A :class:`Scenario` from a scenario object, a TOML path, or None (default)."""
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario)


def describe_seed(rng) -> int | str | None:
    """What a manifest records of the ``rng`` argument."""
    if rng is None or isinstance(rng, int | np.integer):
        return None if rng is None else int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return f"SeedSequence(entropy={rng.entropy}, spawn_key={rng.spawn_key})"
    return f"{type(rng).__name__} (state not recorded)"


def _read_record(model: LandUseModel, key: str):
    """DataCollector model reporter (used through ``functools.partial``, which
    Mesa calls with the model and which pickles)."""
    return model.record[key]


#: Types whose values a collector may store as they are (no copy needed).
_IMMUTABLE = (str, int, float, bool, tuple, np.generic, type(None))


class RecordCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` that reads the indicators of ``model.record``
    directly: the same values as Mesa's ``collect``, without calling a reporter
    and deep-copying a number per indicator each year.

    Reporters other than ``partial(_read_record, key=...)``, and agent reporters,
    are collected by Mesa as usual.
    """

    def collect(self, model) -> None:
        """Collect the model's record (see ``mesa.DataCollector.collect``)."""
        reporters = self.model_reporters
        keys = self._record_keys(reporters)
        if not self._validated or self.agent_reporters or self.agenttype_reporters or None in keys:
            super().collect(model)
            return
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        record, columns = model.record, self.model_vars
        for var, key in zip(reporters, keys, strict=True):
            value = record[key]
            # As Mesa's collect, store a copy of anything mutable.
            columns[var].append(value if isinstance(value, _IMMUTABLE) else deepcopy(value))

    def _record_keys(self, reporters: dict) -> list:
        """The ``model.record`` key each reporter reads (None for another kind of
        reporter), found again only when the reporters change."""
        current = tuple(reporters.values())
        cached = getattr(self, "_record_keys_cache", None)
        if cached is None or cached[0] != current:
            keys = [
                r.keywords["key"] if isinstance(r, partial) and r.func is _read_record else None
                for r in current
            ]
            cached = (current, keys)
            self._record_keys_cache = cached
        return cached[1]


def argsort_stable(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, faster for distinct values.

    The default (unstable) sort is several times faster; when no two values are
    equal the sorted order is unique, so it is the stable sort's. Ties (or NaN)
    fall back to the stable sort.

    Parameters
    ----------
    values : ndarray
        1-d array to sort.

    Returns
    -------
    ndarray
        The indices that sort ``values``, equal values in their original order.
    """
    order = np.argsort(values)
    ranked = values[order]
    if not (ranked[1:] > ranked[:-1]).all():
        order = np.argsort(values, kind="stable")
    return order


def count_covers(cover: np.ndarray) -> np.ndarray:
    """Cells of each cover: ``np.bincount(cover.ravel(), minlength=N_COVERS)``, without
    the conversion of the 8-bit codes to full integers that bincount makes."""
    return np.array([np.count_nonzero(cover == code) for code in range(N_COVERS)])


def cover_mask(cover: np.ndarray, codes) -> np.ndarray:
    """``np.isin(cover, codes)`` by comparing the 8-bit codes, several times faster
    than a lookup (which converts them to full integers)."""
    codes = {int(code) for code in codes}
    others = set(range(N_COVERS)) - codes
    if len(others) < len(codes):
        mask = np.ones(cover.shape, dtype=bool)
        for code in others:
            mask &= cover != code
    else:
        mask = np.zeros(cover.shape, dtype=bool)
        for code in codes:
            mask |= cover == code
    return mask


def dilate_padded(flat: np.ndarray, stride: int) -> np.ndarray:
    """The cells within one cell (the 8 neighbours) of a cell of a mask: a binary
    dilation by a 3 x 3 square, without wrapping at the edges. The mask is held as
    the flat array of its rows, each padded with a last column that must be (and
    stays) False, so that shifting the flat array by one never joins two rows."""
    across = flat.copy()
    across[1:] |= flat[:-1]
    across[:-1] |= flat[1:]
    across.reshape(-1, stride)[:, -1] = False
    out = across.copy()
    out[stride:] |= across[:-stride]
    out[:-stride] |= across[stride:]
    return out


class LandUseModel(mesa.Model):
    """Smallholder land-use decisions at a tropical forest frontier.

    Parameters
    ----------
    scenario : Scenario, path or None
        A validated scenario, a TOML file, or None for the embedded default.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Seed or generator; None uses ``scenario.seed``.
    landscape : Landscape, optional
        Use this landscape instead of generating (or loading) one.
    indicators : list of str, optional
        Record only these yearly indicators (and ``year``), and compute only what
        they need; by default every indicator is recorded. Batches that keep a few
        outputs use this.

    Attributes
    ----------
    params : Scenario
        The landsim scenario (``model.scenario`` is Mesa's own experimental
        scenario object, left untouched).
    landscape : Landscape
        Raster layers (numpy arrays).
    farmers : FarmerState
        Struct-of-arrays state of all farmers; ``farmer(i)`` is the agent of farm i.
    market : Market
        Price paths.
    year : int
        Years simulated so far (0 at the start).
    record : dict
        The indicators of the current year.
    datacollector : mesa.DataCollector
        Model reporters for every indicator; see also :meth:`yearly_table`.
    """

    def __init__(
        self,
        scenario=None,
        *,
        rng=None,
        landscape: Landscape | None = None,
        indicators: list[str] | None = None,
    ):
        scenario = resolve_scenario(scenario)
        seed = scenario.seed if rng is None else rng
        if isinstance(seed, np.random.SeedSequence):
            # Spawning mutates a SeedSequence: work on a copy, so that the caller's
            # object (and what the manifest records of it) reproduces this run.
            seed = np.random.SeedSequence(
                seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size
            )
        super().__init__(rng=seed)
        self.params = scenario
        self.seed = describe_seed(seed)
        # Streams 0-3 are the same whether or not a scenario has programmes (the
        # fifth is theirs), so a programme that changes nothing changes nothing.
        land_rng, farmer_rng, market_rng, self._decision_rng, programme_rng = self.rng.spawn(5)

        self.landscape = landscape if landscape is not None else self._build_landscape(land_rng)
        ls = self.landscape
        self.farmers: FarmerState = draw_farmers(
            scenario.farmers, ls.owner, scenario.decision.neighbours, farmer_rng
        )
        self.market = Market(
            scenario.markets, scenario.years, scenario.decision.price_memory_years, market_rng
        )
        Farmer.create_agents(self, self.farmers.n, farm_id=np.arange(self.farmers.n))
        self.programmes = Programmes(scenario.programmes, self, programme_rng)

        ls.biomass_tc_per_ha = carbon.biomass_density(ls.cover, ls.age, scenario)
        ls.soc_tc_per_ha = carbon.soc_equilibrium(ls.cover, scenario)
        ls.soc_rate_tc_per_ha = np.zeros(ls.shape)
        self._days_per_ha = np.array(
            [
                0.0,
                0.0,
                scenario.monocrop.labour_days_per_ha,
                scenario.cocoa_agroforestry.labour_days_per_ha,
                scenario.silvopasture.labour_days_per_ha,
            ]
        )
        self._fertility_factors = np.ones(N_COVERS)
        self._fertility_factors[Cover.MONOCROP] -= scenario.monocrop.fertility_depletion_rate
        self._recovery_rates = np.zeros(N_COVERS)
        self._recovery_rates[Cover.SECONDARY_FOREST] = scenario.forest.fertility_recovery_rate
        self._recovery_rates[Cover.COCOA_AGROFORESTRY] = (
            scenario.cocoa_agroforestry.fertility_recovery_rate
        )
        self._recovery_rates[Cover.SILVOPASTURE] = scenario.silvopasture.fertility_recovery_rate
        self._biomass_table = np.zeros((N_COVERS, 0))
        self._cocoa_table = np.zeros(0)
        #: Soil carbon equilibrium of each cover (tC/ha).
        self._soc_equilibria = scenario.soil.soc_reference_tc_per_ha * carbon.soc_factors(scenario)
        self.year = 0
        self._cumulative_deforestation_ha = 0.0
        self._grid = None
        self._cache: dict | None = None  # during a step: the ownership caches
        self._ownership: dict | None = None
        self._discount_cache: tuple | None = None
        self._record_blocks, self._record_keys = RECORD_BLOCKS, None
        self.record = self._measure(transitions=None, fluxes=(0.0, 0.0, 0.0, 0.0))
        if indicators is not None:
            self._choose_indicators(indicators)
        self._cache = None
        self.datacollector = RecordCollector(
            model_reporters={key: partial(_read_record, key=key) for key in self.record}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ set-up

    def _build_landscape(self, rng) -> Landscape:
        params = self.params.landscape
        if params.source == "synthetic":
            limits.check_model_memory(self.params)  # before allocating anything
            return generate_landscape(params, rng, source=self.params.source)
        return load_landscape(params.source, params)  # checks memory from the headers

    def farmer(self, farm_id: int) -> Farmer:
        """The agent of farm ``farm_id``."""
        return self.agents_by_type[Farmer][farm_id]

    # ------------------------------------------------------------------ the year

    def step(self) -> None:
        """Simulate one year."""
        self.year += 1
        sc, fs = self.params, self.farmers
        year_rng = self._decision_rng.spawn(1)[0]
        self._begin_caches()
        expected = {p: self.market.expectation(p, self.year) for p in PRODUCTS}
        stats = self._farm_statistics()
        shares = self._learn(stats)

        # Programmes: contracts end, volunteers enrol; enrolment changes values.
        # Stage 1 needs only the value of abandoning; enrolment that of clearing.
        first = (Option.ABANDON, Option.CLEAR) if self.programmes else (Option.ABANDON,)
        values = self._value_options(stats, shares, expected, options=first)
        sizes = self._option_sizes(stats)
        self.programmes.begin_year(self.year, values[:, Option.CLEAR], sizes[:, Option.CLEAR])
        incentives = self.programmes.value_adjustments(self.year, sizes[:, Option.CLEAR])

        # Stage 1: leave exhausted annual-crop land to regrow, or keep cropping it.
        values += incentives
        stage1 = [Option.KEEP, Option.ABANDON]
        feasible = np.column_stack([np.ones(fs.n, dtype=bool), stats["n_exhausted"] > 0])
        probabilities = logit_probabilities(values[:, stage1], sc.decision.logit_scale, feasible)
        abandons = draw_choices(probabilities, year_rng.random(fs.n)) == 1
        transitions = {"abandoned_ha": self._abandon(abandons, stats)}
        fs.abandoned[:] = abandons

        # Stage 2: one land-use change (keep, clear, agroforestry, silvopasture).
        stats = self._statistics_after_abandonment(stats, abandons)
        values = self._value_options(stats, shares, expected, options=STAGE2) + incentives
        sizes = self._option_sizes(stats, self.programmes.upfront_shares(self.year))
        feasible = sizes > 0
        feasible[:, Option.KEEP] = True
        feasible[:, Option.ABANDON] = False
        probabilities = logit_probabilities(values, sc.decision.logit_scale, feasible)
        choice = draw_choices(probabilities, year_rng.random(fs.n))
        fs.last_option[:] = choice
        transitions |= self._apply_choices(choice, sizes, stats, year_rng)

        self._cumulative_deforestation_ha += transitions["deforestation_ha"]
        self._produce()
        fluxes = self._grow()
        fs.payments_usd[:] = self.programmes.settle(
            self.year,
            transitions["cleared_forest_ha"],
            {"removals_tco2e": fs.removals_tco2e, "emissions_tco2e": fs.emissions_tco2e},
        )
        fs.net_income_usd += fs.payments_usd
        self._save()
        self.record = self._measure(transitions, fluxes)
        self.running = self.year < sc.years
        self._cache = None  # checked against the layers again next year
        if self._grid is not None:
            self._sync_grid()
        self.datacollector.collect(self)

    def _value_options(self, stats, shares, expected, options=None) -> np.ndarray:
        sc, fs = self.params, self.farmers
        return value_options(
            discount=self._discount_factors(),
            options=options,
            discount_rate=fs.discount_rate,
            risk_aversion=fs.risk_aversion,
            knowledge=fs.knowledge,
            horizon=sc.decision.planning_horizon_years,
            prices=expected,
            forest_fertility=stats["forest_fertility"],
            monocrop_fertility=stats["monocrop_min_fertility"],
            exhausted_fertility=stats["exhausted_fertility"],
            share_adopting=shares,
            monocrop=sc.monocrop,
            cocoa=sc.cocoa_agroforestry,
            silvopasture=sc.silvopasture,
            clearing_cost_usd_per_ha=sc.forest.clearing_cost_usd_per_ha,
            imitation_weight_usd_per_ha=sc.decision.imitation_weight_usd_per_ha,
            knowledge_cost_premium=sc.decision.knowledge_cost_premium,
            technology_uncertainty=sc.decision.technology_uncertainty,
        )

    def _discount_factors(self) -> np.ndarray:
        """Each farmer's discount factors over the planning horizon (computed again
        only if the discount rates change, which the model never does)."""
        rates = self.farmers.discount_rate
        cached = self._discount_cache
        if cached is None or not np.array_equal(cached[0], rates):
            horizon = self.params.decision.planning_horizon_years
            cached = (rates.copy(), discount_factors(rates, horizon))
            self._discount_cache = cached
        return cached[1]

    def _abandon(self, abandons: np.ndarray, stats: dict) -> float:
        """Exhausted annual-crop land of the farmers who abandon becomes secondary
        forest. Returns the area abandoned (ha)."""
        exhausted, farm = stats["exhausted_cells"]
        cells = exhausted[abandons[farm]]
        self._change_cover(cells, Cover.SECONDARY_FOREST)
        return float(cells.size * self.landscape.cell_size_ha)

    def _changeable(self) -> np.ndarray:
        """Flat mask of the cells whose cover may change: all but protected ones,
        unless the scenario lets protected cells change."""
        protected = self.landscape.protected.ravel()
        if self.params.landscape.protected_can_change:
            return np.ones(protected.shape, dtype=bool)
        return ~protected

    # What the ownership layers (owner, claim, protected) imply is cached:
    # ``_begin_caches`` at the start of each step checks the layers against the
    # copies it keeps and reads them afresh only if they were changed by anything
    # but the model (which keeps the cache and the copies in step when it clears).

    def _begin_caches(self) -> None:
        ls = self.landscape
        cached = self._ownership
        if cached is not None and self._ownership_unchanged(cached["layers"]):
            self._cache = cached
            return
        changeable = self._changeable()
        owner, claim = ls.owner.ravel(), ls.claim.ravel()
        # A farm may clear its own cells and the unowned cells it can claim.
        farm_of = np.where(owner >= 0, owner, claim)
        self._cache = self._ownership = {
            "changeable": changeable,
            "may_clear": changeable & (farm_of >= 0),
            "farm_of": farm_of,
            "layers": (
                ls.owner.copy(),
                ls.claim.copy(),
                ls.protected.copy(),
                self.params.landscape.protected_can_change,
            ),
        }
        self._cache_owned()

    def _ownership_unchanged(self, layers: tuple) -> bool:
        ls = self.landscape
        owner, claim, protected, can_change = layers
        return (
            can_change == self.params.landscape.protected_can_change
            and np.array_equal(owner, ls.owner)
            and np.array_equal(claim, ls.claim)
            and np.array_equal(protected, ls.protected)
        )

    def _cache_owned(self, owned: np.ndarray | None = None) -> None:
        """Flat indices of the owned cells (raster order) and their owners
        (``owned``: the owned cells, if known)."""
        owner = self.landscape.owner.ravel()
        if owned is None:
            owned = np.flatnonzero(owner >= 0)
        o = owner[owned]
        self._cache["owned"] = owned, o
        changeable = self._cache["changeable"][owned]
        self._cache["owned_changeable"] = None if changeable.all() else changeable

    def _owned_cells(self) -> tuple[np.ndarray, np.ndarray]:
        if getattr(self, "_cache", None) is None:
            self._begin_caches()
        return self._cache["owned"]

    def _change_cover(self, cells: np.ndarray, new_cover: Cover) -> None:
        """Set the cover of ``cells``, reset their age, and start their soil carbon's
        linear move to the new cover's equilibrium (over ``soil.transition_years``)."""
        sc, ls = self.params, self.landscape
        soc, soc_rate = ls.soc_tc_per_ha.ravel(), ls.soc_rate_tc_per_ha.ravel()
        target = self._soc_equilibria[new_cover]
        ls.cover.ravel()[cells] = new_cover
        ls.age.ravel()[cells] = 0
        soc_rate[cells] = (target - soc[cells]) / sc.soil.transition_years

    def _farm_statistics(self) -> dict[str, np.ndarray]:
        """Per-farm aggregates the decisions need (one pass over the layers)."""
        sc, ls, n = self.params, self.landscape, self.farmers.n
        cover, fert = ls.cover.ravel(), ls.fertility.ravel()
        owned, o = self._owned_cells()
        c = cover[owned]
        area = np.bincount(o * N_COVERS + c, minlength=n * N_COVERS).reshape(n, N_COVERS)

        # Annual-crop cells that may change, in raster order: the least fertile,
        # and the exhausted ones.
        mono = c == Cover.MONOCROP
        if self._cache["owned_changeable"] is not None:
            mono &= self._cache["owned_changeable"]
        mono_cells, mono_farm = owned[mono], o[mono]
        mono_fert = fert[mono_cells]
        mono_min = np.ones(n)
        np.minimum.at(mono_min, mono_farm, mono_fert)
        exh = mono_fert < sc.monocrop.exhaustion_fertility
        exh_farm = mono_farm[exh]
        n_exh = np.bincount(exh_farm, minlength=n)
        exh_fert = np.bincount(exh_farm, mono_fert[exh], minlength=n) / np.maximum(n_exh, 1)

        # Forest a farm may clear: its own, or unowned forest it can claim;
        # fallow only once its soil has recovered (``forest.reclear_fertility``).
        forest = (cover == Cover.PRIMARY_FOREST) | (
            (cover == Cover.SECONDARY_FOREST) & (fert >= sc.forest.reclear_fertility)
        )
        cand = np.flatnonzero(forest & self._cache["may_clear"])
        cand_farm = self._cache["farm_of"][cand]
        n_cand = np.bincount(cand_farm, minlength=n)
        cand_fert = np.bincount(cand_farm, fert[cand], minlength=n) / np.maximum(n_cand, 1)
        return {
            "area_cells": area,
            "n_exhausted": n_exh,
            "exhausted_fertility": exh_fert,
            "monocrop_min_fertility": mono_min,
            "n_monocrop": np.bincount(mono_farm, minlength=n),
            "n_candidates": n_cand,
            "forest_fertility": np.where(n_cand > 0, cand_fert, 1.0),
            "clear_candidates": (cand, cand_farm),
            "monocrop_cells": (mono_cells, mono_farm, mono_fert),
            "exhausted_cells": (mono_cells[exh], exh_farm),
        }

    def _statistics_after_abandonment(self, stats: dict, abandons: np.ndarray) -> dict:
        """``_farm_statistics()`` after the abandonment of stage 1, updated from the
        statistics before it: only the abandoning farms' exhausted annual-crop cells
        changed (to secondary forest, fertility unchanged)."""
        if not abandons.any():
            return stats
        sc, n = self.params, self.farmers.n
        if sc.forest.reclear_fertility <= sc.monocrop.exhaustion_fertility:
            return self._farm_statistics()  # abandoned land may be cleared at once
        mono_cells, mono_farm, mono_fert = stats["monocrop_cells"]
        exh = mono_fert < sc.monocrop.exhaustion_fertility
        gone = exh & abandons[mono_farm]
        n_gone = np.bincount(mono_farm[gone], minlength=n)
        area = stats["area_cells"].copy()
        area[:, Cover.MONOCROP] -= n_gone
        area[:, Cover.SECONDARY_FOREST] += n_gone
        # The abandoning farms' least fertile annual crop is now their least
        # fertile unexhausted one (or none).
        mono_min = np.where(abandons, 1.0, stats["monocrop_min_fertility"])
        left = ~gone & abandons[mono_farm]
        np.minimum.at(mono_min, mono_farm[left], mono_fert[left])
        keep = ~gone
        exhausted, exh_farm = stats["exhausted_cells"]
        still = ~abandons[exh_farm]
        return stats | {
            "area_cells": area,
            "n_exhausted": np.where(abandons, 0, stats["n_exhausted"]),
            "exhausted_fertility": np.where(abandons, 0.0, stats["exhausted_fertility"]),
            "monocrop_min_fertility": mono_min,
            "n_monocrop": stats["n_monocrop"] - n_gone,
            "monocrop_cells": (mono_cells[keep], mono_farm[keep], mono_fert[keep]),
            "exhausted_cells": (exhausted[still], exh_farm[still]),
        }

    def _learn(self, stats) -> dict[str, np.ndarray]:
        """Neighbours' adoption shares; knowledge grows with them.

        References
        ----------
        Rogers, E. M. (2003). Diffusion of Innovations (5th ed.). Free Press.
        """
        fs, rate = self.farmers, self.params.decision.knowledge_learning_rate
        area = stats["area_cells"]
        adopted_af = area[:, Cover.COCOA_AGROFORESTRY] > 0
        adopted_sp = area[:, Cover.SILVOPASTURE] > 0
        shares = {
            "cocoa_agroforestry": adopted_af[fs.neighbours].mean(axis=1),
            "silvopasture": adopted_sp[fs.neighbours].mean(axis=1),
        }
        either = (adopted_af | adopted_sp)[fs.neighbours].mean(axis=1)
        fs.knowledge += rate * either * (1.0 - fs.knowledge)
        return shares

    def _option_sizes(self, stats, upfront_shares: dict | None = None) -> np.ndarray:
        """Cells each farmer could change under each option this year.

        Bounded by the labour to clear or establish (``labour_ha_per_year``), the
        household labour left for cultivation (``labour_days_per_year``), savings
        for establishment costs (clearing is done with family labour), and the
        land available. ``upfront_shares`` gives, per option, the share of the
        establishment cost each farmer pays up front (less than 1 with support).
        """
        sc, fs, cell = self.params, self.farmers, self.landscape.cell_size_ha
        used_days = stats["area_cells"] @ self._days_per_ha * cell
        free_days = np.maximum(fs.labour_days_per_year - used_days, 0.0)
        k_labour = np.rint(fs.labour_ha_per_year / cell)
        days_mono = self._days_per_ha[Cover.MONOCROP]

        def labour_cap(extra_days_per_ha: float):
            if extra_days_per_ha <= 0:
                return np.inf
            return np.floor(free_days / (extra_days_per_ha * cell))

        def affordable(cost_usd_per_ha):
            cost = np.asarray(cost_usd_per_ha, dtype=float) * cell
            if cost.ndim == 0:  # the same cost for every farmer
                return np.floor(fs.savings_usd / cost) if cost > 0 else np.inf
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(cost > 0, np.floor(fs.savings_usd / cost), np.inf)

        upfront = upfront_shares or {}

        n_mono = stats["n_monocrop"]
        sizes = np.zeros((fs.n, len(Option)))
        sizes[:, Option.CLEAR] = np.minimum(
            np.minimum(k_labour, stats["n_candidates"]), labour_cap(days_mono)
        )
        for option, system in (
            (Option.COCOA_AGROFORESTRY, sc.cocoa_agroforestry),
            (Option.SILVOPASTURE, sc.silvopasture),
        ):
            sizes[:, option] = np.minimum(
                np.minimum(k_labour, n_mono),
                np.minimum(
                    labour_cap(system.labour_days_per_ha - days_mono),
                    affordable(system.establishment_cost_usd_per_ha * upfront.get(option, 1.0)),
                ),
            )
        sizes[:, Option.ABANDON] = stats["n_exhausted"]
        return sizes.astype(np.int64)

    def _apply_choices(self, choice, sizes, stats, rng) -> dict:
        """Change the cells of each farmer's stage-2 choice; pay establishment
        from savings."""
        sc, ls, fs = self.params, self.landscape, self.farmers
        cover, owner = ls.cover.ravel(), ls.owner.ravel()
        fert, claim = ls.fertility.ravel(), ls.claim.ravel()
        k = np.where(choice[:, None] == np.arange(len(Option)), sizes, 0)  # (n, options)
        cell = ls.cell_size_ha
        out = {}

        # Clearing: own forest before claimed land, then nearest fields and roads.
        cand, cand_farm = stats["clear_candidates"]
        k_clear = k[:, Option.CLEAR]
        take = k_clear[cand_farm] > 0
        cand, cand_farm = cand[take], cand_farm[take]
        if cand.size:
            is_claim = (owner[cand] == NO_OWNER).astype(np.int64)
            group = cand_farm * 2 + is_claim
            field_distance, bound = self._clearing_distances(cand, group, k_clear)
            # Sort by farm, then own land before claims, then distance, ties at
            # random: one composite integer key plus a uniform in [0, 1) sorts
            # like a four-key lexsort, about ten times faster.
            key = group * bound + field_distance
            order = argsort_stable(key + rng.random(cand.size))
            cand, cand_farm = cand[order], cand_farm[order]
            keep = rank_within_groups(cand_farm) < k_clear[cand_farm]
            cleared, cleared_farm = cand[keep], cand_farm[keep]
        else:
            cleared = cleared_farm = np.zeros(0, dtype=np.int64)
        primary = cover[cleared] == Cover.PRIMARY_FOREST
        was_unowned = owner[cleared] == NO_OWNER
        out["deforestation_ha"] = float(primary.sum() * cell)
        out["secondary_cleared_ha"] = float(cleared.size * cell) - out["deforestation_ha"]
        out["claimed_ha"] = float(was_unowned.sum() * cell)
        enrolled = self.programmes.enrolled_any()[cleared_farm]
        out["deforestation_enrolled_ha"] = float((primary & ~was_unowned & enrolled).sum() * cell)
        out["deforestation_not_enrolled_ha"] = float(
            (primary & ~was_unowned & ~enrolled).sum() * cell
        )
        out["deforestation_unowned_ha"] = float((primary & was_unowned).sum() * cell)
        out["cleared_forest_ha"] = np.bincount(cleared_farm, minlength=fs.n) * cell
        fs.deforested_ha += np.bincount(cleared_farm[primary], minlength=fs.n) * cell
        fs.claimed_ha += np.bincount(cleared_farm[was_unowned], minlength=fs.n) * cell
        claimed = cleared[was_unowned]
        owner[cleared] = cleared_farm
        claim[cleared] = NO_OWNER
        # (Who may clear a cell does not change: the farm that claimed it owns it.)
        kept_owner, kept_claim, _, _ = self._cache["layers"]
        kept_owner.ravel()[cleared] = cleared_farm
        kept_claim.ravel()[cleared] = NO_OWNER
        investment = np.zeros(fs.n)
        changed = [(cleared, Cover.MONOCROP)]
        established = {}

        # Conversions of annual-crop land: the least fertile cells first.
        mono, mono_farm, _ = stats["monocrop_cells"]
        for option, new_cover, system in (
            (Option.COCOA_AGROFORESTRY, Cover.COCOA_AGROFORESTRY, sc.cocoa_agroforestry),
            (Option.SILVOPASTURE, Cover.SILVOPASTURE, sc.silvopasture),
        ):
            take = k[mono_farm, option] > 0
            cells, farms = mono[take], mono_farm[take]
            order = np.lexsort((rng.random(cells.size), fert[cells], farms))
            cells, farms = cells[order], farms[order]
            keep = rank_within_groups(farms) < k[farms, option]
            cells, farms = cells[keep], farms[keep]
            investment += np.bincount(farms, minlength=fs.n) * (
                system.establishment_cost_usd_per_ha * cell
            )
            out[f"converted_{new_cover.name.lower()}_ha"] = float(cells.size * cell)
            changed.append((cells, new_cover))
            established[option] = farms
        self.programmes.record_establishment(self.year, established)

        for cells, new_cover in changed:
            self._change_cover(cells, new_cover)
        if claimed.size:  # the owned cells are those of before and the claimed ones
            owned, _ = self._owned_cells()
            claimed.sort()
            self._cache_owned(np.insert(owned, np.searchsorted(owned, claimed), claimed))
        fs.investment_usd[:] = investment
        fs.savings_usd -= investment
        return out

    def forest_edge_distance(self) -> np.ndarray:
        """Mean distance (cells) of each farm's forest to the nearest field or road
        (inf for a farm with no forest): how exposed its forest is."""
        owner = self.landscape.owner.ravel()
        dist = self._distance_to_fields()
        forest = (dist > 0) & (owner >= 0)
        n = self.farmers.n
        count = np.bincount(owner[forest], minlength=n)
        total = np.bincount(owner[forest], dist[forest], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / count, np.inf)

    def _distance_to_fields(self) -> np.ndarray:
        """Chessboard distance (cells) from each forest cell to the nearest
        non-forest cell or road; 0 elsewhere. Flat array."""
        ls = self.landscape
        forest = (ls.cover <= Cover.SECONDARY_FOREST) & ~ls.road  # the two forest codes
        return ndimage.distance_transform_cdt(forest, metric="chessboard").ravel()

    #: Distances (cells) to which ``_clearing_distances`` searches outwards from
    #: the fields, in turn, before it transforms the raster instead.
    CLEARING_SEARCH_LEVELS: ClassVar[tuple[int, ...]] = (3, 8)

    def _clearing_distances(
        self, cand: np.ndarray, group: np.ndarray, k_clear: np.ndarray
    ) -> tuple[np.ndarray, int]:
        """Distances of the clearing candidates to the nearest field or road, exact
        wherever they decide which cells are cleared, and a bound above them.

        ``group`` is ``farm x 2 + is_claim`` of each candidate; farm f clears the
        ``k_clear[f]`` first cells of its own land, then of its claims, each group
        nearest first. Within a group that is cleared whole, or not at all, the order
        does not matter (its distances are returned as 0). In the others, the ``r``
        cells to clear are the ``r`` nearest: once ``r`` cells of the group lie within
        ``d`` cells of a field, the others' distances may be anything above ``d``.
        The search grows the fields one cell at a time (a chessboard dilation) to
        each distance of ``CLEARING_SEARCH_LEVELS`` in turn, until every such group
        has its ``r`` cells within it; distances beyond are returned as one more.
        Past the last, it falls back to ``_field_distance``.
        """
        n_groups = 2 * self.farmers.n
        size = np.bincount(group, minlength=n_groups)
        need = np.empty(n_groups, dtype=np.int64)
        own = size[0::2]
        need[0::2] = np.minimum(k_clear, own)
        need[1::2] = np.minimum(np.maximum(k_clear - own, 0), size[1::2])
        need[need >= size] = 0  # groups cleared whole need no distances
        dist = np.zeros(cand.size, dtype=np.int64)
        todo = np.flatnonzero(need[group])  # candidates whose distance matters
        if not todo.size:
            return dist, 1
        # Fields and roads (distance 0) on rows padded with one column that stays
        # empty, so that a row's last cell and the next row's first are not
        # neighbours when the flat array is shifted by one.
        ls = self.landscape
        height, width = ls.shape
        padded = np.zeros((height, width + 1), dtype=bool)
        np.logical_or(ls.cover > Cover.SECONDARY_FOREST, ls.road, out=padded[:, :width])
        cells = cand[todo]
        cells += cells // width  # the padded flat index
        todo_group = group[todo]
        reach = [padded.ravel()]  # reach[d]: the cells within d of a field or road
        for levels in self.CLEARING_SEARCH_LEVELS:
            while len(reach) <= levels:
                reach.append(dilate_padded(reach[-1], width + 1))
            # A cell's distance (capped at levels + 1) is the number of the sets
            # reach[0..levels] that do not hold it.
            within = np.zeros(cells.size, dtype=np.int64)
            for reached in reach:
                within += reached[cells]
            level = levels + 1 - within
            counts = np.bincount(todo_group[level <= levels], minlength=n_groups)
            if (counts >= need).all():
                dist[todo] = level
                return dist, levels + 2
        exact = self._field_distance(cand).astype(np.int64)
        return exact, int(exact.max()) + 1

    #: Cells around the clearing candidates that ``_field_distance`` includes in
    #: its window (the whole raster is transformed if this is not enough).
    FIELD_DISTANCE_MARGIN: ClassVar[int] = 12

    def _field_distance(self, cells: np.ndarray) -> np.ndarray:
        """``_distance_to_fields()[cells]``, computed on a window around ``cells``.

        The transform runs on the bounding box of ``cells`` widened by
        ``FIELD_DISTANCE_MARGIN`` (it leaves out, for example, the reserve). A
        cell's distance within the window is exact if it is no larger than the
        distance from the cell to the nearest cell beyond the window, on the sides
        where the window is cut short of the raster's edge: a field or road out
        there cannot be nearer. If that fails for any cell, the whole raster is
        transformed.
        """
        ls = self.landscape
        height, width = ls.shape
        rows, cols = np.divmod(cells, width)
        margin = self.FIELD_DISTANCE_MARGIN
        top, bottom = max(int(rows.min()) - margin, 0), min(int(rows.max()) + margin + 1, height)
        left, right = max(int(cols.min()) - margin, 0), min(int(cols.max()) + margin + 1, width)
        window = np.s_[top:bottom, left:right]
        forest = (ls.cover[window] <= Cover.SECONDARY_FOREST) & ~ls.road[window]
        dist = ndimage.distance_transform_cdt(forest, metric="chessboard")[rows - top, cols - left]
        beyond = np.full(cells.shape, max(height, width))
        for cut, gap in (
            (top > 0, rows - top + 1),
            (bottom < height, bottom - rows),
            (left > 0, cols - left + 1),
            (right < width, right - cols),
        ):
            if cut:
                np.minimum(beyond, gap, out=beyond)
        if dist.min() >= 0 and (dist <= beyond).all():
            return dist
        return self._distance_to_fields()[cells]

    def _produce(self) -> None:
        """Revenue, operating costs, net income and cocoa production of each farm at
        this year's prices."""
        sc, ls, fs = self.params, self.landscape, self.farmers
        owned, o = self._owned_cells()
        c = ls.cover.ravel()[owned]
        # Only annual crops, cocoa and silvopasture produce (or cost anything).
        producing = np.flatnonzero(c >= Cover.MONOCROP)
        cells, o, c = owned[producing], o[producing], c[producing]
        a, f = ls.age.ravel()[cells], ls.fertility.ravel()[cells]
        p = {name: self.market.price(name, self.year) for name in PRODUCTS}

        revenue = np.zeros(cells.size)
        cost = np.zeros(cells.size)
        m = c == Cover.MONOCROP
        revenue[m] = sc.monocrop.yield_t_per_ha * f[m] * p["monocrop"]
        cost[m] = sc.monocrop.operating_cost_usd_per_ha
        af = c == Cover.COCOA_AGROFORESTRY
        kg = self._cocoa_yields(a[af])
        revenue[af] = kg * p["cocoa"]
        cost[af] = kg * sc.cocoa_agroforestry.production_cost_usd_per_kg
        sp = c == Cover.SILVOPASTURE
        producing = a[sp] >= sc.silvopasture.first_income_year
        revenue[sp] = np.where(producing, sc.silvopasture.beef_yield_kg_per_ha * p["beef"], 0.0)
        cost[sp] = sc.silvopasture.operating_cost_usd_per_ha

        cell = ls.cell_size_ha
        fs.revenue_usd[:] = np.bincount(o, revenue, fs.n) * cell
        fs.operating_cost_usd[:] = np.bincount(o, cost, fs.n) * cell
        fs.net_income_usd[:] = fs.revenue_usd - fs.operating_cost_usd
        fs.cocoa_kg[:] = np.bincount(o[af], kg, fs.n) * cell

    def _cocoa_yields(self, ages: np.ndarray) -> np.ndarray:
        """``cocoa_yield(ages)`` (kg/ha), looked up in a table by age (whole years)."""
        table = self._cocoa_table
        if ages.size and int(ages.max()) >= table.size:
            table = cocoa_yield(
                np.arange(max(2 * int(ages.max()), 128)), self.params.cocoa_agroforestry
            )
            self._cocoa_table = table
        return table.take(ages.astype(np.intp))

    def _save(self) -> None:
        """Savings take the saved share of a profit (``farmers.savings_rate``), or
        absorb a loss; debt is not modelled (savings stop at 0)."""
        fs = self.farmers
        fs.cumulative_income_usd += fs.net_income_usd
        net = fs.net_income_usd
        saved = np.where(net > 0, self.params.farmers.savings_rate * net, net)
        fs.savings_usd[:] = np.maximum(fs.savings_usd + saved, 0.0)

    def _grow(self) -> tuple[float, float, float, float]:
        """Soil fertility, ages, biomass and soil carbon one year on.

        Returns biomass removals and emissions, soil removals and emissions (tCO2e).
        """
        ls = self.landscape
        self._update_fertility()
        soil_cells = self._changing_soil_cells()  # from the ages before they advance
        ls.age += 1
        soc_gain, soc_loss = self._advance_soil(soil_cells)
        bio_gain, bio_loss = self._advance_biomass()
        return bio_gain, bio_loss, soc_gain, soc_loss

    def _update_fertility(self) -> None:
        """Annual crops deplete the soil (f (1 - d)); fallow and tree systems let it
        recover (f + g (1 - f)).

        Only the cells of covers with a factor other than 1 or a rate other than 0
        are updated: the others' fertility would stay exactly as it is.
        """
        cover, fert = self.landscape.cover.ravel(), self.landscape.fertility.ravel()
        factors, rates = self._fertility_factors, self._recovery_rates
        moving = np.flatnonzero((factors != 1.0) | (rates != 0.0))
        cells = np.flatnonzero(cover_mask(cover, moving))
        c = cover[cells].astype(np.intp)
        f = fert[cells] * factors.take(c)
        f += rates.take(c) * (1.0 - f)
        fert[cells] = f

    def _changing_soil_cells(self) -> np.ndarray:
        """Flat indices (raster order) of the cells whose soil carbon may change this
        year: those in transition (by the ages before they advance) with a non-zero
        rate, and any with a negative stock (which the update sets to 0)."""
        ls = self.landscape
        soc, rate = ls.soc_tc_per_ha.ravel(), ls.soc_rate_tc_per_ha.ravel()
        in_transition = ls.age.ravel() < self.params.soil.transition_years
        return np.flatnonzero((in_transition & (rate != 0.0)) | (soc < 0.0))

    def _advance_soil(self, cells: np.ndarray) -> tuple[float, float]:
        """Move the soil carbon of ``cells`` (see ``_changing_soil_cells``) one year
        along its transition; return the soil removals and emissions (tCO2e).

        No other cell's stock changes, and a zero change counts in neither sum, so
        the sums over ``cells`` (in raster order) are those over the landscape.
        """
        ls = self.landscape
        soc, rate = ls.soc_tc_per_ha.ravel(), ls.soc_rate_tc_per_ha.ravel()
        old = soc[cells]
        new = np.maximum(old + rate[cells], 0.0)
        soc[cells] = new
        return carbon.split_change(old, new, ls.cell_size_ha)

    def _advance_biomass(self) -> tuple[float, float]:
        """Biomass from the new ages; return the landscape's biomass removals and
        emissions (tCO2e) and set each farm's (``farmers.removals_tco2e`` and
        ``farmers.emissions_tco2e``), for carbon payments.

        The sums run over the cells whose biomass changed, in raster order: a zero
        change adds nothing to any of them.
        """
        ls, fs = self.landscape, self.farmers
        old = ls.biomass_tc_per_ha
        ls.biomass_tc_per_ha = self._biomass_density(ls.cover, ls.age)
        change_tc = np.subtract(ls.biomass_tc_per_ha, old).ravel()
        change_tc *= ls.cell_size_ha
        changed = np.flatnonzero(change_tc != 0.0)
        change_tc = change_tc[changed]
        gain, loss = carbon.split_difference(change_tc)
        o = ls.owner.ravel()[changed]
        owned = o >= 0
        o, d = o[owned], change_tc[owned] * carbon.CO2_PER_C
        fs.removals_tco2e[:] = np.bincount(o, np.maximum(d, 0.0), fs.n)
        fs.emissions_tco2e[:] = np.bincount(o, np.maximum(-d, 0.0), fs.n)
        return gain, loss

    def _biomass_density(self, cover: np.ndarray, age: np.ndarray) -> np.ndarray:
        """``carbon.biomass_density(cover, age)``, looked up in a table by cover and
        age (whole years) instead of evaluating the growth curves for every cell."""
        max_age = int(age.max()) if age.size else 0
        table = self._biomass_table
        if max_age >= table.shape[1]:
            table = carbon.biomass_table(self.params, max(2 * max_age, 128))
            self._biomass_table = table
        # A 16-bit index is computed several times faster, when the table is small
        # enough for one (ages are below its width).
        small = table.size <= np.iinfo(np.int16).max and age.dtype.itemsize <= 2
        index = cover.astype(np.int16 if small else np.intp) * table.shape[1] + age
        return np.take(table.ravel(), index)

    # ------------------------------------------------------------------ outputs

    def _measure(self, transitions: dict | None, fluxes) -> dict:
        """The indicators of the current year (one row of the yearly table): all of
        them, or ``year`` and the model's ``indicators``.

        ``transitions`` holds the year's land-use changes (None before the first
        year), ``fluxes`` the biomass and soil removals and emissions (tCO2e).
        """
        shared: dict = {}
        rec: dict = {"year": self.year}
        for block in self._record_blocks:
            rec |= block(self, transitions, fluxes, shared)
        if self._record_keys is not None:
            rec = {key: rec[key] for key in self._record_keys}
        return rec

    def _choose_indicators(self, indicators: list[str]) -> None:
        """Record only ``indicators`` (and ``year``) from now on, measuring only the
        blocks of the record that hold them (``self.record`` is a whole record)."""
        full = self.record
        wanted = set(indicators) | {"year"}
        unknown = [key for key in indicators if key not in full]
        if unknown:
            raise ValueError(
                f"unknown indicator {unknown[0]!r}; the yearly indicators are: {', '.join(full)}"
            )
        self._record_blocks = tuple(
            block for block in RECORD_BLOCKS if wanted & set(block(self, None, (0.0,) * 4, {}))
        )
        self._record_keys = [key for key in full if key in wanted]
        self.record = {key: full[key] for key in self._record_keys}

    def _areas(self, shared: dict) -> np.ndarray:
        """Area of each cover (ha), computed once per record."""
        if "areas" not in shared:
            shared["areas"] = count_covers(self.landscape.cover) * self.landscape.cell_size_ha
        return shared["areas"]

    def _programme_record(self, shared: dict) -> dict:
        if "programme" not in shared:
            shared["programme"] = self.programmes.measure(self.year)
        return shared["programme"]

    def _record_areas(self, transitions, fluxes, shared) -> dict:
        areas = self._areas(shared)
        rec = {f"area_{name}_ha": float(a) for name, a in zip(COVER_NAMES, areas, strict=True)}
        rec["forest_area_ha"] = float(areas[list(FOREST)].sum())
        return rec

    def _record_transitions(self, transitions, fluxes, shared) -> dict:
        t = transitions or {}
        return {
            "deforestation_ha": t.get("deforestation_ha", 0.0),
            "cumulative_deforestation_ha": self._cumulative_deforestation_ha,
            "secondary_cleared_ha": t.get("secondary_cleared_ha", 0.0),
            "claimed_ha": t.get("claimed_ha", 0.0),
            "abandoned_ha": t.get("abandoned_ha", 0.0),
            "farms_abandoning": int(self.farmers.abandoned.sum()),
            "converted_cocoa_agroforestry_ha": t.get("converted_cocoa_agroforestry_ha", 0.0),
            "converted_silvopasture_ha": t.get("converted_silvopasture_ha", 0.0),
        } | {
            f"deforestation_{group}_ha": t.get(f"deforestation_{group}_ha", 0.0)
            for group in ("enrolled", "not_enrolled", "unowned")
        }

    def _record_carbon(self, transitions, fluxes, shared) -> dict:
        ls, cell = self.landscape, self.landscape.cell_size_ha
        biomass = float(ls.biomass_tc_per_ha.sum() * cell)
        soil = float(ls.soc_tc_per_ha.sum() * cell)
        bio_gain, bio_loss, soc_gain, soc_loss = fluxes
        removals, emissions = bio_gain + soc_gain, bio_loss + soc_loss
        return {
            "carbon_stock_tc": biomass + soil,
            "biomass_carbon_tc": biomass,
            "soil_carbon_tc": soil,
            "removals_tco2e": removals,
            "emissions_tco2e": emissions,
            "net_emissions_tco2e": emissions - removals,
            "biomass_emissions_tco2e": bio_loss,
            "soil_emissions_tco2e": soc_loss,
        }

    def _record_income(self, transitions, fluxes, shared) -> dict:
        fs = self.farmers
        income = fs.net_income_usd
        has_income = transitions is not None and fs.n > 0
        spread = income_distribution(income) if has_income else dict.fromkeys(INCOME_STATS, np.nan)
        return {
            "income_mean_usd": float(income.mean()) if has_income else np.nan,
            "income_median_usd": spread["median"],
            "income_p10_usd": spread["p10"],
            "income_gini": spread["gini"],
            "income_poorest20_usd": spread["poorest_mean"],
            "payments_mean_usd": float(fs.payments_usd.mean()) if fs.n else np.nan,
            "savings_mean_usd": float(fs.savings_usd.mean()) if fs.n else np.nan,
            "investment_usd": float(fs.investment_usd.sum()),
        }

    def _record_adoption(self, transitions, fluxes, shared) -> dict:
        fs = self.farmers
        owned, o = self._owned_cells()
        c = self.landscape.cover.ravel()[owned]
        rec = {}
        for name, code in (
            ("cocoa_agroforestry", Cover.COCOA_AGROFORESTRY),
            ("silvopasture", Cover.SILVOPASTURE),
        ):
            has = np.bincount(o[c == code], minlength=fs.n) > 0
            rec[f"adopters_{name}"] = int(has.sum())
        rec["knowledge_mean"] = float(fs.knowledge.mean()) if fs.n else np.nan
        for option in STAGE2:
            rec[f"chose_{OPTION_NAMES[option]}"] = (
                int((fs.last_option == option).sum()) if transitions is not None else 0
            )
        return rec

    def _record_prices(self, transitions, fluxes, shared) -> dict:
        return {
            f"{product}_price_{UNITS[product]}": self.market.price(product, self.year)
            for product in PRODUCTS
        }

    def _record_programmes(self, transitions, fluxes, shared) -> dict:
        return self._programme_record(shared)

    def _record_restoration(self, transitions, fluxes, shared) -> dict:
        """Restoration indicators in the manner of FERM / Target 2 monitoring: land
        once cleared counts as degraded; under restoration when regrowing, under
        agroforestry or silvopasture, or replanted by programme funds."""
        areas = self._areas(shared)
        degraded = float(areas[1:].sum())
        reforestation = self._programme_record(shared)["reforestation_ha"]
        rec = {
            "restoration_regrowth_ha": float(areas[Cover.SECONDARY_FOREST]),
            "restoration_agroforestry_ha": float(areas[Cover.COCOA_AGROFORESTRY]),
            "restoration_silvopasture_ha": float(areas[Cover.SILVOPASTURE]),
            "restoration_reforestation_ha": min(reforestation, degraded),
            "degraded_land_ha": degraded,
        }
        restored = sum(
            rec[f"restoration_{k}_ha"]
            for k in ("regrowth", "agroforestry", "silvopasture", "reforestation")
        )
        rec["degraded_share_under_restoration"] = (
            min(1.0, restored / degraded) if degraded else 0.0
        )
        return rec

    def yearly_table(self, columns: list[str] | None = None):
        """The yearly indicators as a tidy pandas DataFrame (one row per year):
        every indicator, or ``year`` and ``columns``."""
        if columns is None:
            df = self.datacollector.get_model_vars_dataframe()
            return df.reset_index(drop=True)
        import pandas as pd

        collected = self.datacollector.model_vars
        unknown = [c for c in columns if c not in collected]
        if unknown:
            raise KeyError(f"no yearly column {unknown[0]!r}; available: {', '.join(collected)}")
        return pd.DataFrame({c: collected[c] for c in dict.fromkeys(["year", *columns])})

    def farm_table(self):
        """One row per farm: its area, the primary forest it cleared over the run
        (ha, own lot and claimed land), the unowned land it claimed (ha), its
        cumulative net income and final savings (USD)."""
        import pandas as pd

        fs, ls = self.farmers, self.landscape
        area = np.bincount(ls.owner[ls.owner >= 0], minlength=fs.n) * ls.cell_size_ha
        return pd.DataFrame(
            {
                "farm_id": np.arange(fs.n),
                "area_ha": area,
                "deforested_ha": fs.deforested_ha,
                "claimed_ha": fs.claimed_ha,
                "cumulative_income_usd": fs.cumulative_income_usd,
                "savings_usd": fs.savings_usd,
                "ever_enrolled": self.programmes.ever_enrolled_any(),
                "expelled": self.programmes.expelled_any(),
            }
        )

    def rasters(self) -> dict[str, np.ndarray]:
        """Copies of the current raster layers, by name."""
        return {name: arr.copy() for name, arr in self.landscape.layers().items()}

    # ------------------------------------------------------------------ Mesa grid

    #: Layers mirrored onto the Mesa grid, with their dtypes.
    GRID_LAYERS: ClassVar[dict[str, type]] = {
        "cover": np.int8,
        "fertility": np.float64,
        "owner": np.int32,
        "biomass_tc_per_ha": np.float64,
        "soc_tc_per_ha": np.float64,
    }

    @property
    def grid(self):
        """A Mesa ``OrthogonalMooreGrid`` mirroring the layers, built on first access.

        It holds one Python object per cell (about 1.4 GB at 1000 x 1000): use it
        for the browser view and small landscapes only. Its property layers are
        indexed ``[x, y]`` (the transpose of the landscape arrays) and are kept in
        step with the model after each year.
        """
        if self._grid is None:
            from mesa.discrete_space import OrthogonalMooreGrid

            height, width = self.landscape.shape
            self._grid = OrthogonalMooreGrid((width, height), torus=False, random=self.random)
            for name, dtype in self.GRID_LAYERS.items():
                self._grid.create_property_layer(name, default_value=0, dtype=dtype)
            self._sync_grid()
        return self._grid

    def _sync_grid(self) -> None:
        for name in self.GRID_LAYERS:
            getattr(self._grid, name).data[:] = getattr(self.landscape, name).T


#: The blocks of the yearly record, in the order of its columns.
RECORD_BLOCKS = (
    LandUseModel._record_areas,
    LandUseModel._record_transitions,
    LandUseModel._record_carbon,
    LandUseModel._record_income,
    LandUseModel._record_adoption,
    LandUseModel._record_prices,
    LandUseModel._record_programmes,
    LandUseModel._record_restoration,
)
