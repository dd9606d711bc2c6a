"""The model the page runs: a :class:`~landsim.model.LandUseModel` built from the
picked scenario, the moved sliders and the seed field, that stops at the last year."""

from __future__ import annotations

import threading

from mesa.experimental.scenarios import Scenario as MesaScenario

from landsim.model import LandUseModel
from landsim.scenario import Scenario, ScenarioError, load_scenario

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.viz.controls import (
    CONTROLS_BY_KEY,
    ViewerSetup,
    apply_controls,
    find_moved_controls,
    slider_values,
)
from landsim.viz.scenarios import EMBEDDED, SeedError, parse_seed

# --------------------------------------------------------------------------- the model


class TeachingModel(LandUseModel):
    """A :class:`LandUseModel` built from the browser view's controls.

    Parameters
    ----------
    scenario : Scenario, path or None
        The scenario when ``scenario_file`` is not given (None: the embedded
        default). Mesa's own scenario object, which Mesa's Reset passes, is
        ignored: the landsim scenario comes from the picker.
    rng : int, numpy.random.Generator or None
        Overrides the seed field.
    setup : ViewerSetup, optional
        The picker's files.
    scenario_file : str, optional
        A name from ``setup.choices``.
    seed : str or int, optional
        The seed field; blank: the scenario's own seed.
    **controls : float
        Slider values by scenario key path (e.g. ``markets.cocoa.mean``). A value
        other than where the slider stands for the chosen scenario
        (:meth:`Control.slider_value`) overrides the scenario; a slider left where
        the scenario puts it changes nothing.

    Attributes
    ----------
    scenario_name : str
        The picker's name of the scenario run (or the scenario's own name).
    base : Scenario
        The chosen scenario as written, before the sliders.
    overridden : dict
        The slider values applied, by key path.
    notices : list of str
        Messages for the student (bad seed, invalid scenario), shown on the page.
    inputs : dict
        The picker, seed field and slider values the model was built from.
    lock : threading.RLock
        Held while the model steps; the page holds it while it reads the model, so
        that it never reads a year half-done.
    """

    def __init__(
        self,
        scenario=None,
        *,
        rng=None,
        setup: ViewerSetup | None = None,
        scenario_file: str | None = None,
        seed: str | int | None = None,
        **controls: float,
    ):
        unknown = sorted(set(controls) - set(CONTROLS_BY_KEY))
        if unknown:
            raise TypeError(f"unknown slider(s): {', '.join(unknown)}")
        self.notices: list[str] = []
        self.lock = threading.RLock()
        self.inputs = {"scenario_file": scenario_file, "seed": seed, **controls}
        if isinstance(scenario, MesaScenario):
            scenario = None
        self.base, self.scenario_name = self._choose_scenario(scenario, setup, scenario_file)
        moved = find_moved_controls(controls, slider_values(self.base))
        params, self.overridden = self._apply(self.base, moved)
        if rng is None:
            rng = self._read_seed(seed)
        if rng is None:  # a blank (or bad) seed field: the scenario's own seed
            rng = params.seed
        super().__init__(params, rng=rng)

    @property
    def finished(self) -> bool:
        """Whether the run has reached its last year."""
        return self.year >= self.params.years

    @property
    def adds_teaching_programme(self) -> bool:
        """Whether the sliders added :func:`teaching_programme` to a scenario without one."""
        return not self.base.programmes and bool(self.params.programmes)

    def step(self) -> None:
        """Simulate one year; past the last year, do nothing (the run is finished).

        Mesa's Play steps the model several times between redraws (its render
        interval) without checking whether the run has ended.
        """
        with self.lock:
            if self.finished:
                self.running = False
                return
            super().step()

    def _choose_scenario(self, scenario, setup, scenario_file) -> tuple[Scenario, str]:
        if scenario_file is not None:
            files = setup.files if setup else {}
            if scenario_file not in files:
                self.notices.append(
                    f"Unknown scenario {scenario_file!r}: running the embedded default."
                )
                return load_scenario(None), EMBEDDED
            scenario = files[scenario_file]
        try:
            loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        except ScenarioError as exc:
            self.notices.append(f"This scenario is not valid ({exc}): running the default.")
            return load_scenario(None), EMBEDDED
        return loaded, scenario_file or loaded.name

    def _apply(self, base: Scenario, moved: dict[str, float]) -> tuple[Scenario, dict]:
        try:
            return apply_controls(base, moved), moved
        except ScenarioError as exc:
            self.notices.append(f"The sliders give an invalid scenario ({exc}): ignored.")
            return base, {}

    def _read_seed(self, text) -> int | None:
        try:
            return parse_seed(text)
        except SeedError as exc:
            self.notices.append(f"{exc} Running with the scenario's seed instead.")
            return None
