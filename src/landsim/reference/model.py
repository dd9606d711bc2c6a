"""The reference model: its set-up, the cells' operations, and the yearly schedule
(ODD section 3), one farmer and one cell at a time."""

from __future__ import annotations

import math
from functools import partial

import mesa
import numpy as np

from landsim import limits
from landsim.agents import draw_farmers
from landsim.landscape import generate_landscape, load_landscape
from landsim.market import PRODUCTS, Market
from landsim.model.state import NO_OWNER, Cover, Landscape, Option
from landsim.provenance import describe_seed, resolve_seed
from landsim.reference.carbon import CarbonCurves
from landsim.reference.curves import logit_choice
from landsim.reference.farmer import ReferenceFarmer
from landsim.reference.growth import grow
from landsim.reference.land import LAYERS, build_grid, clear_forest, establish_systems
from landsim.reference.programmes import ReferenceProgrammes
from landsim.reference.records import farm_table, measure, read_record
from landsim.reference.restoration import mark_natural_regeneration
from landsim.reference.roads import build_roads
from landsim.reference.settlers import land_rent, welcome_settlers
from landsim.scenario import Scenario, check_roads, resolve_scenario

#: The attributes of a farmer drawn at set-up or on arrival (besides its
#: neighbours), in the order they are drawn.
DRAWN_ATTRIBUTES = (
    "discount_rate",
    "risk_aversion",
    "labour_ha_per_year",
    "labour_days_per_year",
    "savings_usd",
    "knowledge",
    "price_extrapolation",
    "change_share",
)


class ReferenceModel(mesa.Model):
    """The landsim model written per agent and per cell on a Mesa grid.

    Same scenario, same seed, same results as :class:`landsim.model.LandUseModel`
    (see :mod:`landsim.reference` for what "same" means); about a hundred times
    slower or more. Programmes are included.

    Parameters
    ----------
    scenario : Scenario, path or None
        A validated scenario, a TOML file, or None for the embedded default.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Seed; None draws a fresh one (recorded in ``seed``), as
        :class:`landsim.model.LandUseModel` does.
    landscape : Landscape, optional
        Start from this landscape instead of generating (or loading) one.

    Attributes
    ----------
    grid : mesa.discrete_space.OrthogonalMooreGrid
        The landscape. Cell ``(x, y)`` is column ``x`` and row ``y`` (from the
        northern edge) of the landscape arrays; its property layers are
        :data:`~landsim.reference.land.LAYERS`.
    cells : list of Cell
        All cells in raster order: row by row from the northern edge, west to east.
    farmers : list of ReferenceFarmer
        In farm-id order.
    carbon : CarbonCurves
        Biomass and soil carbon of each cover.
    """

    def __init__(self, scenario=None, *, rng=None, landscape: Landscape | None = None):
        scenario = resolve_scenario(scenario)
        seed = resolve_seed(rng)  # None: fresh entropy, as LandUseModel
        super().__init__(rng=seed)
        self.params: Scenario = scenario
        self.seed = describe_seed(seed)
        streams = self.rng.spawn(6)
        land_rng, farmer_rng, market_rng, self._decision_rng = streams[:4]
        programme_rng, self.settler_rng = streams[4:]

        if landscape is None:
            landscape = self._build_landscape(land_rng)
        check_roads(scenario, landscape.shape, landscape.cell_size_ha)
        self.year = 0
        self.cell_size_ha = landscape.cell_size_ha
        self.shape = landscape.shape
        self.road_distance_km = landscape.road_distance_km.copy()
        draws = draw_farmers(
            scenario.farmers, landscape.owner, scenario.decision.neighbours, farmer_rng
        )
        self.market = Market(
            scenario.markets, scenario.years, scenario.decision.price_memory_years, market_rng
        )
        self.labour_days_per_ha = [
            0.0,
            0.0,
            scenario.monocrop.labour_days_per_ha,
            scenario.cocoa_agroforestry.labour_days_per_ha,
            scenario.silvopasture.labour_days_per_ha,
            scenario.pasture.labour_days_per_ha,
        ]
        self.carbon = CarbonCurves(scenario)
        self.grid, self.cells = build_grid(landscape, self.random)
        self.farmers = [self.new_farmer(i, draws, i) for i in range(draws.n)]
        self._hand_out_cells()
        self.programmes = ReferenceProgrammes(scenario.programmes, self, programme_rng)
        self._set_initial_carbon()

        self.cumulative_deforestation_ha = 0.0
        self.land_rent: float | None = None  # last year's (settlers.land_rent)
        self.settlers_arrived = 0
        self.record = measure(self, transitions=None, fluxes=(0.0, 0.0, 0.0, 0.0, 0.0))
        self.datacollector = mesa.DataCollector(
            model_reporters={key: partial(read_record, key=key) for key in self.record}
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ set-up

    def _build_landscape(self, rng) -> Landscape:
        """Generate the synthetic landscape (if it fits in memory) or read the file."""
        params = self.params.landscape
        if params.source == "synthetic":
            limits.check_model_memory(self.params)
            return generate_landscape(params, rng, source=self.params.source)
        return load_landscape(params.source, params)

    def new_farmer(self, farm_id: int, draws, i: int) -> ReferenceFarmer:
        """The farmer of ``farm_id``, with row ``i`` of ``draws`` (a ``FarmerState``
        from :func:`landsim.agents.draw_farmers` or ``draw_settlers``)."""
        attributes = {name: getattr(draws, name)[i] for name in DRAWN_ATTRIBUTES}
        return ReferenceFarmer(self, farm_id, attributes | {"neighbours": draws.neighbours[i]})

    def _hand_out_cells(self) -> None:
        """Give each farmer its own cells and the unowned cells it may claim."""
        for cell in self.cells:
            if cell.owner != NO_OWNER:
                self.farmers[cell.owner].cells.append(cell)
            elif cell.claim != NO_OWNER:
                self.farmers[cell.claim].claimable.append(cell)

    def _set_initial_carbon(self) -> None:
        """Carbon at the start: every cell not in primary forest cleared once,
        biomass by cover and age, soil at its equilibrium."""
        for cell in self.cells:
            cell.clearings = 0 if cell.cover == Cover.PRIMARY_FOREST else 1
            cell.restoration = 0
            cell.biomass_tc_per_ha = self.carbon.biomass_density(
                cell.cover, int(cell.age), cell.clearings
            )
            cell.soc_tc_per_ha = self.carbon.soc_equilibrium(cell.cover)

    # ------------------------------------------------------------------ cells

    def raster_index(self, cell) -> int:
        """Position of ``cell`` in raster order (the flat index of the landscape arrays)."""
        x, y = cell.coordinate
        return y * self.shape[1] + x

    def may_change(self, cell) -> bool:
        """Whether the cell's cover may change: not protected, unless allowed."""
        return self.params.landscape.protected_can_change or not cell.protected

    def change_cover(self, cell, new_cover: Cover) -> None:
        """New cover at age 0; its soil carbon then approaches the new equilibrium
        (``growth``)."""
        cell.cover = new_cover
        cell.age = 0
        cell.restoration = 0  # an intervention ends with its cover

    # ------------------------------------------------------------------ the year

    def step(self) -> None:
        """Simulate one year (ODD section 3)."""
        self.year += 1
        farmers, year = self.farmers, self.year
        year_rng = self._decision_rng.spawn(1)[0]
        build_roads(self)
        self.settlers_arrived = welcome_settlers(self)
        if self.market.responds_to_supply:
            self.market.set_supply(year, self.regional_supply())
        expected = {p: self.expected_price(p) for p in PRODUCTS}
        surveys = {f.farm_id: f.survey() for f in farmers}
        shares = {f.farm_id: f.adoption_shares(surveys) for f in farmers}
        for f in farmers:
            f.learn(shares[f.farm_id])

        # Programmes: contracts end, volunteers enrol; enrolment changes values.
        values = {
            f.farm_id: f.value_options(surveys[f.farm_id], shares[f.farm_id], expected)
            for f in farmers
        }
        sizes = {f.farm_id: f.option_sizes(surveys[f.farm_id]) for f in farmers}
        clear_sizes = [sizes[f.farm_id][Option.CLEAR] for f in farmers]
        self.programmes.begin_year(
            year, [values[f.farm_id][Option.CLEAR] for f in farmers], clear_sizes
        )
        incentives = self.programmes.value_adjustments(year, clear_sizes)

        transitions = self.leave_exhausted_land(values, incentives, surveys, year_rng)
        surveys = {f.farm_id: f.survey() for f in farmers}
        choices, sizes = self.choose_land_uses(surveys, shares, expected, year_rng)
        transitions |= clear_forest(self, choices, sizes, surveys, year_rng)
        cleared = {key: transitions.pop(key) for key in ("setup_usd", "planted")}
        transitions |= establish_systems(self, choices, sizes, surveys, year_rng, cleared)
        self.programmes.plant(year)  # reforestation (7.17)
        self.cumulative_deforestation_ha += transitions["deforestation_ha"]

        prices = {p: self.market.price(p, year) for p in PRODUCTS}
        for f in farmers:
            f.produce(prices)
        fluxes = grow(self)
        payments = self.programmes.settle(year, transitions.pop("cleared"))
        for f in farmers:
            f.payments_usd = payments[f.farm_id]
            f.net_income_usd += f.payments_usd
            f.save()
        mark_natural_regeneration(self)
        self.record = measure(self, transitions, fluxes)
        self.running = year < self.params.years
        self.datacollector.collect(self)

    def regional_supply(self) -> dict[str, float]:
        """The landscape's supply of annual crops (t) and beef (kg) at full labour:
        every farm's cells in production, at their yields (7.4, 7.11), summed
        exactly (``math.fsum``)."""
        sc = self.params
        crop, beef, silvopasture = [], [], 0
        for farmer in self.farmers:
            for cell in farmer.cells:
                if farmer.is_idle(cell):
                    continue
                if cell.cover == Cover.MONOCROP:
                    crop.append(sc.monocrop.yield_t_per_ha * cell.fertility)
                elif cell.cover == Cover.PASTURE and cell.age >= sc.pasture.first_income_year:
                    beef.append(sc.pasture.beef_yield_kg_per_ha * cell.fertility)
                elif cell.cover == Cover.SILVOPASTURE:
                    silvopasture += cell.age >= sc.silvopasture.first_income_year
        beef.append(sc.silvopasture.beef_yield_kg_per_ha * int(silvopasture))
        return {
            "monocrop": math.fsum(crop) * self.cell_size_ha,
            "beef": math.fsum(beef) * self.cell_size_ha,
        }

    def expected_price(self, product: str) -> tuple[float, float, float]:
        """Mean and coefficient of variation of the last ``price_memory_years``
        prices, and last year's price (each farmer weighs the two, 4b.5)."""
        memory = self.params.decision.price_memory_years
        window = [self.market.price(product, t) for t in range(self.year - memory, self.year)]
        mean = float(np.mean(window))
        return mean, float(np.std(window) / mean), self.market.price(product, self.year - 1)

    def leave_exhausted_land(self, values, incentives, surveys, rng) -> dict:
        """Stage 1: each farmer leaves its worn-out land (exhausted annual crops,
        degraded pasture) to regrow, or keeps it idle (one uniform per farmer).
        Returns the area abandoned, and the pasture among it."""
        abandoned_cells = abandoned_pasture = 0
        uniforms = rng.random(len(self.farmers))
        for f in self.farmers:
            v = [
                values[f.farm_id][o] + incentives[f.farm_id][o]
                for o in (Option.KEEP, Option.ABANDON)
            ]
            feasible = [True, bool(surveys[f.farm_id].exhausted)]
            scale = self.params.decision.logit_scale
            f.abandoned = logit_choice(v, feasible, scale, uniforms[f.farm_id]) == 1
            if f.abandoned:
                cells, pasture = f.abandon_exhausted_land(surveys[f.farm_id])
                abandoned_cells += cells
                abandoned_pasture += pasture
        return {
            "abandoned_ha": float(abandoned_cells * self.cell_size_ha),
            "abandoned_pasture_ha": float(abandoned_pasture * self.cell_size_ha),
        }

    def choose_land_uses(self, surveys, shares, expected, rng):
        """Stage 2: each farmer makes one land-use change (keep, clear for annual
        crops, cocoa agroforestry, silvopasture, clear for pasture), valued on its
        land after stage 1, with its programmes' incentives on the clearing it can
        do now (one uniform per farmer). Returns the choices and their sizes
        (cells), by farm id."""
        choices, sizes, raw = {}, {}, []
        uniforms = rng.random(len(self.farmers))
        bounds = {
            f.farm_id: f.option_sizes(
                surveys[f.farm_id], self.programmes.upfront_share(self.year, f)
            )
            for f in self.farmers
        }
        incentives = self.programmes.value_adjustments(
            self.year, [bounds[f.farm_id][Option.CLEAR] for f in self.farmers]
        )
        for f in self.farmers:
            survey = surveys[f.farm_id]
            v = f.value_options(survey, shares[f.farm_id], expected)
            raw.append(v)
            v = [v[o] + incentives[f.farm_id][o] for o in Option]
            size = bounds[f.farm_id]
            feasible = [o == Option.KEEP or (o != Option.ABANDON and size[o] > 0) for o in Option]
            scale = self.params.decision.logit_scale
            f.last_option = Option(logit_choice(v, feasible, scale, uniforms[f.farm_id]))
            choices[f.farm_id], sizes[f.farm_id] = f.last_option, size[f.last_option]
        self.land_rent = land_rent(raw)
        return choices, sizes

    # ------------------------------------------------------------------ outputs

    def yearly_table(self):
        """The yearly indicators as a pandas DataFrame (one row per year)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def rasters(self) -> dict[str, np.ndarray]:
        """The layers as ``(height, width)`` arrays, like ``LandUseModel.rasters()``."""
        out = {name: np.array(getattr(self.grid, name).data.T) for name in LAYERS}
        out["road_distance_km"] = self.road_distance_km.copy()
        return out

    def farm_table(self):
        """One row per farm, like ``LandUseModel.farm_table()``."""
        return farm_table(self)


def simulate_reference(scenario=None, *, rng=None, years: int | None = None) -> ReferenceModel:
    """Run a scenario with the reference model; return the model after the last year.

    Parameters
    ----------
    scenario : Scenario, path or None
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
    years : int, optional
        Run for this many years instead of the scenario's.

    Returns
    -------
    ReferenceModel
    """
    scenario = resolve_scenario(scenario)
    if years is not None:
        scenario = scenario.with_overrides({"years": years})
    model = ReferenceModel(scenario, rng=rng)
    model.run_for(scenario.years)
    return model
