"""landsim: smallholder land-use decisions at tropical forest frontiers.

The public API::

    import landsim
    scenario = landsim.load_scenario("scenarios/baseline.toml")   # or None: the default
    result = landsim.simulate(scenario, rng=42)                     # nothing written to disk
    result.yearly                                                   # pandas DataFrame
    model = landsim.LandUseModel(scenario, rng=42)                  # a mesa.Model
    model.run_for(30)
    batch = landsim.run_batch("experiments/cocoa_price_grid.toml", out="results/grid")
    batch.runs, batch.yearly                                        # BatchResults tables
    batch = landsim.load_batch("results/grid")                      # the same, read back

Heavy modules (Mesa, the model) are imported on first use, so that ``import
landsim`` and the command line start quickly.
"""

from importlib import import_module, metadata

try:
    __version__ = metadata.version("landsim")
except metadata.PackageNotFoundError:  # a source tree that was not installed
    __version__ = "unknown"

_EXPORTS = {
    "LandUseModel": "landsim.model",
    "Farmer": "landsim.agents",
    "ReferenceModel": "landsim.reference",
    "simulate": "landsim.simulation",
    "SimulationResult": "landsim.simulation",
    "write_outputs": "landsim.simulation",
    "compare": "landsim.evaluation",
    "Comparison": "landsim.evaluation",
    "run_batch": "landsim.batch",
    "load_batch": "landsim.batch",
    "BatchResults": "landsim.batch",
    "Experiment": "landsim.experiment",
    "load_experiment": "landsim.experiment",
    "summarize_batch": "landsim.report",
    "SensitivityAnalysis": "landsim.sensitivity",
    "run_sensitivity": "landsim.sensitivity",
    "load_scenario": "landsim.scenario",
    "Scenario": "landsim.scenario",
    "ScenarioError": "landsim.scenario",
    "Cover": "landsim.landscape",
    "Landscape": "landsim.landscape",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'landsim' has no attribute {name!r}")
