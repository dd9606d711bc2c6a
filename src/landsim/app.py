"""The browser view for students: ``landsim viz`` (Mesa and Solara).

:func:`launch` serves the page ``landsim.app:Page`` with ``solara run`` in a child
process on localhost, passing the scenario file in the environment variable
``LANDSIM_VIZ_SCENARIO``, and blocks until Ctrl-C. The page:

- the sidebar holds Mesa's ``ModelController`` (Reset, Play, Step) with its play
  and render intervals, a picker for the shipped scenarios, a seed field, sliders
  for the parameters students explore (cocoa price, carbon price, payment per ha of
  forest, enrolment cap, monitoring, discount rate) and an About panel that opens
  the model description (docs/ODD.md) and the guided lab (docs/teaching.md);
- the main area holds a map of the landscape (land cover, with switchable views of
  carbon, soil fertility and farms; roads, the year and a scale bar; a click on a
  farm selects it), a card on the run (what runs, the year, indicators, farm
  income, the value each slider's parameter has in this run, messages), a card on
  the selected farm, line plots of forest area, yearly deforestation, carbon stock
  and farm income with hover values (Solara's ECharts component, served locally),
  on which the previous run stays as faint dashed lines, and a download of the
  yearly table as CSV.

Sliders are named by scenario key paths, as in the TOML files (one vocabulary;
see :data:`CONTROLS`); programme keys are written as in a ``[[programmes]]``
table (``programmes.enrolment_cap``) and apply to every programme of the
scenario. Picking a scenario puts every slider where that scenario has its
parameter (:meth:`Control.slider_value`); a slider left there changes nothing
(the scenario runs as written), any other value overrides the scenario. In a
scenario without a programme, moving a programme slider adds
:func:`teaching_programme` (a payment per ha of standing forest with a
no-clearing obligation). As everywhere in Mesa, new slider values, a new scenario
or a new seed take effect on Reset.

The page is laid out here rather than by Mesa's ``SolaraViz``: its draggable grid
rearranged the page when students dragged on the map, its page tabs and step
counter ("Page 0", "Time: 30.0") mean nothing here, its "Use Threads" switch let
the plots read the model in the middle of a step, its parameter inputs cannot be
moved by the scenario picker, and its theme switch follows a dark system
preference that the app's fixed colours do not suit (the page stays light).
Mesa's own controller still steps the model: a step past the last year does
nothing (:meth:`TeachingModel.step`), so its render interval is safe; the model
steps under a lock that the page holds while reading it.

The map is drawn from the model's numpy rasters straight into a PNG (one square
of pixels per cell; about 17 ms per view at the default size, measured here), shown
by a small Vue component (``app_map.vue``) that reports where it was clicked; Mesa's
space renderer has no click events. No Mesa grid is built (``model.grid`` stays
unbuilt). The model never imports this
module (the Mesa convention); this module imports the model.

The view lives in :mod:`landsim.viz` (one module per part of the page); this module
keeps the names it always had, and ``landsim.app:Page`` is what ``solara run`` serves.
"""

from landsim.model import LandUseModel  # noqa: F401
from landsim.viz.cards import (  # noqa: F401
    DOCUMENTS,
    About,
    FarmCard,
    RunCard,
    TableDownload,
    describe_farm,
    describe_previous,
    describe_programmes,
    describe_run,
    describe_scenario,
    describe_value,
    find_document,
    table_csv,
    table_filename,
)
from landsim.viz.controls import (  # noqa: F401
    CONTROLS,
    CONTROLS_BY_KEY,
    Control,
    ViewerSetup,
    apply_controls,
    find_moved_controls,
    initial_arguments,
    list_programmes,
    make_model_params,
    override_carbon_price,
    override_cocoa_price,
    override_discount_rate,
    override_programmes,
    read_carbon_price,
    read_cocoa_price,
    read_discount_rate,
    read_nested,
    read_programme_value,
    scale_distribution,
    slider_values,
    teaching_programme,
    write_nested,
)
from landsim.viz.maps import (  # noqa: F401
    BOUNDARY_STYLE,
    COVER_STYLE,
    FARM_STYLE,
    MAP_PIXELS,
    PAGE_CSS,
    PAINTERS,
    RESERVE_LINE_STYLE,
    ROAD_STYLE,
    SCALE_STYLE,
    SELECTED_STYLE,
    VIEWS,
    LandscapeMap,
    Legend,
    MapImage,
    choose_scale_bar,
    colour_scale,
    describe_extent,
    draw_map,
    draw_roads,
    encode_png,
    enlarge,
    erode,
    find_clicked_cell,
    find_edges,
    format_km,
    format_legend,
    paint_carbon,
    paint_cover,
    paint_farms,
    paint_fertility,
    render_map,
    to_rgb,
    top_carbon_density,
)
from landsim.viz.page import (  # noqa: F401
    Page,
    ParameterInputs,
    describe_pending,
    read_launch_file,
)
from landsim.viz.plots import (  # noqa: F401
    CHART_GRID,
    PLOT_COLUMNS,
    PREVIOUS,
    TRAJECTORIES,
    Trajectory,
    TrajectoryPlot,
    chart_option,
    read_table,
    to_points,
)
from landsim.viz.scenarios import (  # noqa: F401
    EMBEDDED,
    SCENARIO_DIR,
    SCENARIO_ENV,
    TITLE,
    SeedError,
    find_scenario_dir,
    find_scenario_files,
    list_scenario_choices,
    parse_seed,
)
from landsim.viz.server import (  # noqa: F401
    check_port,
    exit_code,
    launch,
    server_command,
    server_environment,
    stop_server,
)
from landsim.viz.teaching import (  # noqa: F401
    TeachingModel,
)
