"""The land-use model: a ``mesa.Model`` whose yearly step is the ODD schedule.

One year (docs/ODD.md, section 3), each a process of ``landsim.model.processes``:

0. the year's scheduled roads are built (``roads``); settlers arrive along roads
   and claim open forest (``settlers``);
1. farmers form price expectations from the recent price history (``prices``);
2. each farmer surveys its land (``survey``);
3. social learning: knowledge grows with the share of neighbours who adopted (``learning``);
4. programmes: contracts end, volunteers enrol; enrolment changes option values
   (``landsim.model.programmes``);
5. each farmer values its options by net present value per ha (``valuation``);
   stage 1: a binary logit on leaving its worn-out land to regrow (``choice``);
6. stage 2: a multinomial logit over keep, clearing (for annual crops, pasture or
   cocoa) and the perennial systems, within what labour (household and hired),
   savings and land allow (``labour``, ``constraints``, ``choice``);
7. the changes are applied to explicit cells (``land_change``); enrolled farms'
   new agroforestry and silvopasture count as restoration (``restoration``);
   programmes plant trees on idle farmland (``planting``);
8. production and income at this year's prices (``income``);
9. soil fertility, cover ages, soil and biomass carbon, and the carbon fluxes
   (``soil``, ``biomass``);
10. programmes monitor, sanction and pay, and protected regrowth counts as
    restoration (``restoration``); savings carry over (``income``);
11. the year's indicators are recorded (``landsim.model.indicators``).

All randomness flows from one numpy Generator (``model.rng``, from the seed),
split by ``Generator.spawn`` into independent streams for the landscape, the
farmers, the markets, the yearly decisions, the programmes and the settlers, so
that changing one process (e.g. an incentive) leaves the others' draws untouched
(common random numbers).
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import mesa
import numpy as np

from landsim import carbon
from landsim.agents import draw_farmers
from landsim.market import Market
from landsim.model import _fast, grid, indicators
from landsim.model.indicators import RECORD_BLOCKS, RecordCollector, read_record
from landsim.model.ownership import Ownership
from landsim.model.processes import (
    biomass,
    choice,
    constraints,
    income,
    labour,
    land_change,
    learning,
    prices,
    restoration,
    roads,
    settlers,
    soil,
    survey,
    valuation,
)
from landsim.model.processes.survey import FarmSurvey
from landsim.model.programmes import Programmes
from landsim.model.setup import (
    apply_keyword_overrides,
    prepare_landscape,
    resolve_scenario,
    set_model_layers,
)
from landsim.model.state import (
    STAGE2,
    Farmer,
    FarmerState,
    Landscape,
    ModelState,
    Option,
)
from landsim.provenance import describe_seed, resolve_seed


class LandUseModel(mesa.Model):
    """Smallholder land-use decisions at a tropical forest frontier.

    Parameters
    ----------
    scenario : Scenario, path or None
        A validated scenario, a TOML file, or None for the embedded default.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Seed or generator. None draws a fresh seed from the operating system
        (Mesa's and SPEC 7's meaning), recorded in :attr:`seed`; pass
        ``rng=scenario.seed`` for the scenario's own seed (the command line's
        default).
    landscape : Landscape, optional
        Use this landscape instead of generating (or loading) one.
    indicators : list of str, optional
        Record only these yearly indicators (and ``year``), and compute only what
        they need (batches that keep a few outputs); by default every one.
    **overrides
        Scenario values by dotted key path, as Mesa passes model parameters:
        ``LandUseModel(**{"markets.cocoa.mean": 2.0}, years=20)`` is
        ``LandUseModel(scenario.with_overrides({...}))``, validated the same way.
        This is what lets ``mesa.batch_run(LandUseModel, parameters={...})`` sweep
        scenario keys.

    Attributes
    ----------
    seed : int or str
        The seed the run used (the fresh one when ``rng`` was None).
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

    #: Search depths of the clearing-distance fast path (``_fast.clearing_distances``).
    CLEARING_SEARCH_LEVELS: ClassVar[tuple[int, ...]] = _fast.CLEARING_SEARCH_LEVELS
    #: Window margin of the windowed distance transform (``_fast.field_distance``).
    FIELD_DISTANCE_MARGIN: ClassVar[int] = _fast.FIELD_DISTANCE_MARGIN

    def __init__(
        self,
        scenario=None,
        *,
        rng=None,
        landscape: Landscape | None = None,
        indicators: list[str] | None = None,
        **overrides,
    ):
        scenario = resolve_scenario(scenario)
        if overrides:
            scenario = apply_keyword_overrides(scenario, overrides)
        seed = resolve_seed(rng)
        super().__init__(rng=seed)
        self.params = scenario
        self.seed = describe_seed(seed)
        # Streams 0-3 are the same whether or not a scenario has programmes (the
        # fifth is theirs, the sixth the settlers'), so a programme that changes
        # nothing changes nothing.
        streams = self.rng.spawn(6)
        land_rng, farmer_rng, market_rng, self._decision_rng = streams[:4]
        programme_rng, self._settler_rng = streams[4:]

        landscape = prepare_landscape(scenario, landscape, land_rng)
        farmers = draw_farmers(
            scenario.farmers, landscape.owner, scenario.decision.neighbours, farmer_rng
        )
        market = Market(
            scenario.markets, scenario.years, scenario.decision.price_memory_years, market_rng
        )
        self.state = ModelState(scenario, landscape, farmers, market)
        Farmer.create_agents(self, farmers.n, farm_id=np.arange(farmers.n))
        self.programmes = Programmes(scenario.programmes, self.state, programme_rng)

        set_model_layers(landscape, scenario)
        #: Per cover code: labour (days/ha), fertility factor and recovery rate, and
        #: the soil carbon equilibrium (tC/ha).
        self._days_per_ha = labour.labour_days_per_ha(scenario)
        self._fertility = soil.FertilityRates.for_scenario(scenario)
        self._soc_equilibria = scenario.soil.soc_reference_tc_per_ha * carbon.soc_factors(scenario)
        self._soc_retention = soil.soc_retention(scenario)
        self._discount = valuation.DiscountFactors.for_scenario(scenario)
        self._cocoa_yields = income.CocoaYields(scenario.cocoa_agroforestry)
        self._biomass = biomass.BiomassTable(scenario)
        self._cumulative_deforestation_ha = 0.0
        self._land_rent: float | None = None  # last year's (settlers.land_rent)
        self._settlers_arrived = 0
        self._grid = None
        self._ownership: Ownership | None = None
        self._refresh_ownership()
        self._record_blocks, self._record_keys = RECORD_BLOCKS, None
        self.record = self._measure(transitions=None, fluxes=biomass.CarbonFluxes())
        if indicators is not None:
            self._choose_indicators(indicators)
        self.datacollector = RecordCollector(
            model_reporters={key: partial(read_record, key=key) for key in self.record}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ state

    @property
    def landscape(self) -> Landscape:
        """Raster layers (numpy arrays)."""
        return self.state.landscape

    @property
    def farmers(self) -> FarmerState:
        """Struct-of-arrays state of all farmers."""
        return self.state.farmers

    @property
    def market(self) -> Market:
        """Price paths."""
        return self.state.market

    @property
    def year(self) -> int:
        """Years simulated so far (0 at the start)."""
        return self.state.year

    @year.setter
    def year(self, value: int) -> None:
        self.state.year = value

    def farmer(self, farm_id: int) -> Farmer:
        """The agent of farm ``farm_id``."""
        return self.agents_by_type[Farmer][farm_id]

    # ------------------------------------------------------------------ the year

    def step(self) -> None:
        """Simulate one year: the ODD schedule (see the module docstring)."""
        self.year += 1
        rng = self._decision_rng.spawn(1)[0]
        roads.build_roads(self.state)
        self._settlers_arrived = self._welcome_settlers()
        self._refresh_ownership()
        expected = prices.form_expectations(self.state)
        farms = self._survey()
        shares = learning.learn(self.farmers, farms, self.params.decision.knowledge_learning_rate)
        values = self._value_and_enrol(farms, shares, expected)
        abandons = choice.choose_abandonment(
            values, farms, self.params.decision.logit_scale, rng.random(self.farmers.n)
        )
        abandoned_ha = self._abandon(farms, abandons)
        farms = self._survey_after_abandonment(farms, abandons)
        changes = self._change_land_use(farms, shares, expected, rng, abandoned_ha)
        self._produce()
        fluxes = self._grow()
        self._settle(changes)
        income.save(self.farmers, self.params.farmers.savings_rate)
        self._record(changes, fluxes)

    def _welcome_settlers(self) -> int:
        """Settlers arrive and claim lots of open forest (``settlers``); they join
        the farmers, as agents and in every programme's accounts. Returns how many
        arrived."""
        first = self.farmers.n
        count = settlers.arrive(self.state, self._land_rent, self._settler_rng)
        if count:
            Farmer.create_agents(self, count, farm_id=np.arange(first, first + count))
            self.programmes.add_farms(count)
        return count

    def _refresh_ownership(self) -> None:
        """Build the ownership index afresh if anything but the model changed the
        ownership layers since it was built."""
        can_change = self.params.landscape.protected_can_change
        if self._ownership is None or not self._ownership.matches(self.landscape, can_change):
            self._ownership = Ownership(self.landscape, can_change)

    def _survey(self) -> FarmSurvey:
        kept = self.programmes.kept_cells(self.year)  # planting may not be cleared
        ls, n = self.landscape, self.farmers.n
        return survey.survey_farms(ls, self._ownership, self.params, n, kept)

    def _survey_after_abandonment(self, farms: FarmSurvey, abandons: np.ndarray) -> FarmSurvey:
        kept = self.programmes.kept_cells(self.year)
        return survey.survey_after_abandonment(
            farms, abandons, self.landscape, self._ownership, self.params, kept
        )

    def _value(self, farms, shares, expected, options) -> np.ndarray:
        discount = self._discount(self.farmers.discount_rate)
        days = self._days_per_ha
        return valuation.value(self.state, farms, shares, expected, discount, days, options)

    def _sizes(self, farms, upfront_shares=None) -> np.ndarray:
        return constraints.option_sizes(self.state, farms, self._days_per_ha, upfront_shares)

    def _value_and_enrol(self, farms, shares, expected) -> np.ndarray:
        """Stage-1 option values with the programmes' incentives.

        Programmes end contracts and enrol volunteers first: enrolment needs the
        value and size of clearing, stage 1 only the value of abandoning.
        """
        first = (Option.ABANDON, Option.CLEAR) if self.programmes else (Option.ABANDON,)
        values = self._value(farms, shares, expected, first)
        clear_size = self._sizes(farms)[:, Option.CLEAR]
        self.programmes.begin_year(self.year, values[:, Option.CLEAR], clear_size)
        return values + self.programmes.value_adjustments(self.year, clear_size)

    def _abandon(self, farms: FarmSurvey, abandons: np.ndarray) -> tuple[float, float]:
        self.farmers.abandoned[:] = abandons
        self.programmes.land_changed()
        return land_change.abandon(self.landscape, farms, abandons)

    def _change_land_use(
        self, farms, shares, expected, rng, abandoned_ha: tuple
    ) -> land_change.YearChanges:
        """Stage 2: value, bound and choose one land-use change (the programmes'
        incentives on the clearing each farm can do now); apply it; the year's
        transitions, with stage 1's ``abandoned_ha``."""
        values = self._value(farms, shares, expected, STAGE2)
        self._land_rent = settlers.land_rent(values)
        sizes = self._sizes(farms, self.programmes.upfront_shares(self.year))
        values = values + self.programmes.value_adjustments(self.year, sizes[:, Option.CLEAR])
        chosen = choice.choose_land_use_change(
            values, sizes, self.params.decision.logit_scale, rng.random(self.farmers.n)
        )
        self.farmers.last_option[:] = chosen
        change = land_change.apply_choices(
            self.params,
            self.landscape,
            self.farmers,
            self._ownership,
            farms,
            chosen,
            sizes,
            rng,
            self.CLEARING_SEARCH_LEVELS,
            self.FIELD_DISTANCE_MARGIN,
            self.programmes.claims_first(self.year),
        )
        self.programmes.record_establishment(self.year, change.established)
        enrolled = self.programmes.enrolled_any()
        restoration.mark_productive(self.landscape, change.converted, enrolled)
        self.programmes.plant(self.year)  # reforestation (``planting``)
        changes = land_change.tally(
            change, abandoned_ha, enrolled, self.landscape.cell_size_ha, self.farmers.n
        )
        self._cumulative_deforestation_ha += changes.deforestation_ha
        return changes

    def _produce(self) -> None:
        income.produce(
            self.params,
            self.landscape,
            self.farmers,
            self._ownership,
            self.market,
            self.year,
            self._cocoa_yields,
            self._days_per_ha,
        )

    def _grow(self) -> biomass.CarbonFluxes:
        """Soil fertility, ages, soil and biomass carbon one year on; the year's
        carbon fluxes."""
        ls = self.landscape
        soil.update_fertility(ls, self._fertility)
        ls.age += 1
        soil_rates = (self._soc_equilibria, self._soc_retention)
        soc_gain, soc_loss = soil.advance_soil(ls, *soil_rates, self.farmers)
        bio_gain, bio_loss, planted = biomass.advance_biomass(ls, self.farmers, self._biomass)
        return biomass.CarbonFluxes(bio_gain, bio_loss, soc_gain, soc_loss, planted)

    def _settle(self, changes: land_change.YearChanges) -> None:
        """Programmes monitor, sanction and pay (payments count as income); the
        regrowth their agreements protect is under restoration."""
        fs = self.farmers
        fs.payments_usd[:] = self.programmes.settle(
            self.year,
            changes.cleared,
            {"removals_tco2e": fs.removals_tco2e, "emissions_tco2e": fs.emissions_tco2e},
        )
        fs.net_income_usd += fs.payments_usd
        restoration.mark_natural_regeneration(self.state, self._ownership, self.programmes)

    def _record(self, changes: land_change.YearChanges, fluxes: biomass.CarbonFluxes) -> None:
        self.record = self._measure(changes, fluxes)
        self.running = self.year < self.params.years
        if self._grid is not None:
            grid.sync_grid(self._grid, self.landscape)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ outputs

    def _measure(self, transitions: land_change.YearChanges | None, fluxes) -> dict:
        """The indicators of the current year (see :func:`indicators.measure`)."""
        blocks, keys = self._record_blocks, self._record_keys
        return indicators.measure(self, blocks, keys, transitions, fluxes)

    def _choose_indicators(self, wanted: list[str]) -> None:
        """Record only ``wanted`` indicators (and ``year``) from now on."""
        self._record_blocks, self._record_keys = indicators.choose_blocks(
            self, self.record, wanted
        )
        self.record = {key: self.record[key] for key in self._record_keys}

    def yearly_table(self, columns: list[str] | None = None):
        """The yearly indicators as a tidy pandas DataFrame (one row per year):
        every indicator, or ``year`` and ``columns``."""
        return indicators.yearly_table(self.datacollector, columns)

    def farm_table(self):
        """One row per farm (see :func:`indicators.farm_table`)."""
        return indicators.farm_table(self.landscape, self.farmers, self.programmes)

    def rasters(self) -> dict[str, np.ndarray]:
        """Copies of the current raster layers, by name."""
        return {name: arr.copy() for name, arr in self.landscape.layers().items()}

    # ------------------------------------------------------------------ Mesa grid

    #: Layers mirrored onto the Mesa grid, with their dtypes.
    GRID_LAYERS: ClassVar[dict[str, type]] = grid.GRID_LAYERS

    @property
    def grid(self):
        """A Mesa ``OrthogonalMooreGrid`` mirroring the layers, built on first access:
        one Python object per cell (about 1.4 GB at 1000 x 1000; for the browser view
        and small landscapes only). Its property layers are indexed ``[x, y]`` (the
        transpose of the landscape arrays), kept in step with the model each year."""
        if self._grid is None:
            self._grid = grid.build_grid(self.landscape, self.random)
        return self._grid
