"""The map: the model's rasters painted into a PNG (cover, carbon, fertility or
farms; roads, the year and a scale bar), shown by a small Vue component that
reports where it was clicked."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import PIL.Image
import solara
from matplotlib import colormaps
from mesa.visualization.utils import update_counter

from landsim.landscape import Cover
from landsim.model import LandUseModel
from landsim.scenario import Scenario

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.viz.teaching import TeachingModel

# --------------------------------------------------------------------------- the map

#: Land-cover colours and legend labels, by cover code.
COVER_STYLE = {
    Cover.PRIMARY_FOREST: ("#1b5e20", "primary forest"),
    Cover.SECONDARY_FOREST: ("#8bc34a", "regrowth (fallow)"),
    Cover.MONOCROP: ("#f5d76e", "annual crops"),
    Cover.COCOA_AGROFORESTRY: ("#8c510a", "cocoa agroforestry"),
    Cover.SILVOPASTURE: ("#e69f00", "silvopasture"),
    Cover.PASTURE: ("#d7b5d8", "cattle pasture"),
}
#: Farm-view colours and legend labels.
FARM_STYLE = {
    "reserve": ("#b0b0b0", "reserve (unowned)"),
    "unowned": ("#e6e6e6", "unowned land"),
    "farm": ("#f3e5c0", "farm, not enrolled"),
    "enrolled": ("#43a047", "farm enrolled in a programme"),
    "expelled": ("#e53935", "farm expelled from a programme"),
}
BOUNDARY_STYLE = ("#303030", "farm boundary")
RESERVE_LINE_STYLE = ("#000000", "reserve boundary (dashed)")
ROAD_STYLE = ("#707070", "road")
SELECTED_STYLE = ("#d500f9", "the farm you clicked")
#: Continuous views: colour map and legend title.
SCALE_STYLE = {
    "Carbon": ("YlGn", "carbon stock, tC/ha (biomass + soil)"),
    "Soil fertility": ("YlOrBr_r", "soil fertility (1 = fresh forest soil)"),
}
VIEWS = ("Land cover", "Carbon", "Soil fertility", "Farms")
#: Largest side of the map image (pixels): cells are drawn as squares of whole pixels.
MAP_PIXELS = 600


@dataclass(frozen=True)
class Legend:
    """What a map view's colours mean.

    Attributes
    ----------
    entries : tuple of (colour, label)
        Categorical colours.
    scale : tuple of (colour map, low, high, title), or None
        A continuous colour scale.
    """

    entries: tuple[tuple[str, str], ...] = ()
    scale: tuple[str, float, float, str] | None = None


def to_rgb(colour: str) -> np.ndarray:
    """An ``#rrggbb`` colour as uint8 RGB."""
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def colour_scale(values: np.ndarray, cmap: str, low: float, high: float) -> np.ndarray:
    """``values`` as uint8 RGB through a matplotlib colour map over [low, high]."""
    unit = np.clip((values - low) / (high - low), 0.0, 1.0)
    return colormaps[cmap](unit, bytes=True)[..., :3]


def paint_cover(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Land cover in categorical colours."""
    palette = np.array([to_rgb(COVER_STYLE[c][0]) for c in Cover])
    return palette[model.landscape.cover], Legend(entries=tuple(COVER_STYLE.values()))


def top_carbon_density(scenario: Scenario) -> float:
    """Carbon stock of a ha of primary forest at soil equilibrium (tC/ha)."""
    forest = scenario.forest
    biomass = forest.primary_agb_tc_per_ha * (1 + forest.root_shoot_ratio)
    return biomass + scenario.soil.soc_reference_tc_per_ha


def paint_carbon(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Carbon stock per ha (biomass + soil)."""
    ls = model.landscape
    top = top_carbon_density(model.params)
    cmap, title = SCALE_STYLE["Carbon"]
    rgb = colour_scale(ls.biomass_tc_per_ha + ls.soc_tc_per_ha, cmap, 0.0, top)
    return rgb, Legend(scale=(cmap, 0.0, top, title))


def paint_fertility(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Soil fertility (1 = fresh forest soil)."""
    cmap, title = SCALE_STYLE["Soil fertility"]
    threshold = model.params.monocrop.exhaustion_fertility
    title = f"{title}; annual-crop land below {threshold:g} is exhausted"
    rgb = colour_scale(model.landscape.fertility, cmap, 0.0, 1.0)
    return rgb, Legend(scale=(cmap, 0.0, 1.0, title))


def paint_farms(model: LandUseModel) -> tuple[np.ndarray, Legend]:
    """Farms by programme status (their boundaries are added by :func:`draw_map`)."""
    ls = model.landscape
    names = list(FARM_STYLE)
    kind = np.where(ls.protected, names.index("reserve"), names.index("unowned"))
    status = np.full(model.farmers.n, names.index("farm"))
    status[model.programmes.enrolled_any()] = names.index("enrolled")
    status[model.programmes.expelled_any()] = names.index("expelled")
    owned = ls.owner >= 0
    kind[owned] = status[ls.owner[owned]]
    palette = np.array([to_rgb(FARM_STYLE[name][0]) for name in names])
    shown = ["reserve", "unowned", "farm"] + (["enrolled", "expelled"] if model.programmes else [])
    entries = (*(FARM_STYLE[name] for name in shown), BOUNDARY_STYLE)
    return palette[kind], Legend(entries=entries)


PAINTERS = {
    "Land cover": paint_cover,
    "Carbon": paint_carbon,
    "Soil fertility": paint_fertility,
    "Farms": paint_farms,
}


def enlarge(layer: np.ndarray, factor: int) -> np.ndarray:
    """Each cell as a ``factor`` x ``factor`` block of pixels."""
    return np.repeat(np.repeat(layer, factor, axis=0), factor, axis=1)


def find_edges(labels: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another label."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return edge


def draw_roads(image: np.ndarray, road: np.ndarray, factor: int) -> None:
    """Draw the roads on ``image`` (in place): a line through the middle of every road
    cell, joined to the road cells beside it."""
    if factor < 3 or not road.any():
        return
    colour = to_rgb(ROAD_STYLE[0])
    width = max(1, factor // 3)
    low = (factor - width) // 2
    band = slice(low, low + width)
    height, cols = road.shape
    # (rows, columns, pixel row in the cell, pixel column in the cell, rgb): a view.
    cells = image.reshape(height, factor, cols, factor, 3).transpose(0, 2, 1, 3, 4)
    cells[:, :, band, band][road] = colour
    east = road[:, :-1] & road[:, 1:]  # a road cell and its eastern neighbour
    cells[:, :-1, band, low:][east] = colour
    cells[:, 1:, band, : low + width][east] = colour
    south = road[:-1, :] & road[1:, :]
    cells[:-1, :, low:, band][south] = colour
    cells[1:, :, : low + width, band][south] = colour


def erode(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` whose four neighbours are all in ``mask`` (outside counts as not)."""
    padded = np.pad(mask, 1)
    return mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]


def draw_map(
    model: LandUseModel, view: str = "Land cover", selected: int | None = None
) -> tuple[np.ndarray, Legend]:
    """The landscape in one of :data:`VIEWS` as an RGB image, and its legend.

    Each cell is a square of whole pixels (north at the top); roads are drawn as
    lines, the reserve boundary is dashed, in the farm view farm boundaries are
    drawn, and the boundary of the ``selected`` farm (if any) is highlighted.
    """
    rgb, legend = PAINTERS[view](model)
    ls = model.landscape
    factor = max(1, MAP_PIXELS // max(ls.shape))
    image = enlarge(rgb, factor)
    entries = list(legend.entries)
    if view == "Farms":
        owner = enlarge(ls.owner, factor)
        boundary = find_edges(owner) & (owner >= 0)
        image[boundary] = to_rgb(BOUNDARY_STYLE[0])
    if ls.road.any():
        draw_roads(image, ls.road, factor)
        entries.append(ROAD_STYLE)
    if ls.protected.any() and not ls.protected.all():
        rows, cols = np.indices(image.shape[:2])
        line = find_edges(enlarge(ls.protected, factor)) & ((rows + cols) // 6 % 2 == 0)
        image[line] = to_rgb(RESERVE_LINE_STYLE[0])
        entries.append(RESERVE_LINE_STYLE)
    if selected is not None and 0 <= selected < model.farmers.n:
        mine = enlarge(ls.owner == selected, factor)
        image[mine & ~erode(erode(mine))] = to_rgb(SELECTED_STYLE[0])
        entries.append(SELECTED_STYLE)
    return image, Legend(entries=tuple(entries), scale=legend.scale)


def encode_png(image: np.ndarray) -> bytes:
    """An RGB image as PNG bytes (fast compression: speed matters more than size)."""
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def render_map(
    model: LandUseModel, view: str, selected: int | None = None
) -> tuple[bytes, Legend]:
    """The map in ``view`` as PNG bytes, and its legend."""
    image, legend = draw_map(model, view, selected)
    return encode_png(image), legend


def format_legend(legend: Legend) -> str:
    """The legend as HTML (coloured swatches, or a colour bar with its range)."""
    swatch = (
        '<span style="white-space:nowrap"><span style="display:inline-block;width:14px;'
        "height:14px;margin:0 4px 0 10px;vertical-align:middle;border:1px solid #777;"
        'background:{}"></span>{}</span> '
    )
    parts = [swatch.format(colour, html.escape(label)) for colour, label in legend.entries]
    if legend.scale is not None:
        cmap, low, high, title = legend.scale
        stops = ", ".join(
            "#{:02x}{:02x}{:02x}".format(*rgb)
            for rgb in colour_scale(np.linspace(low, high, 9), cmap, low, high)
        )
        parts.insert(
            0,
            f'<div>{html.escape(title)}</div><div style="display:flex;align-items:center;gap:6px">'
            f'<span>{low:g}</span><span style="flex:1;height:12px;border:1px solid #777;'
            f'background:linear-gradient(to right, {stops})"></span><span>{high:g}</span></div>',
        )
    style = "font-size:13px;line-height:22px"
    return f'<div class="landsim-legend" style="{style}">{"".join(parts)}</div>'


def describe_extent(model: LandUseModel) -> str:
    """The map's size and orientation in words."""
    height, width = model.landscape.shape
    side = model.landscape.cell_side_km
    text = f"{width * side:.3g} x {height * side:.3g} km, north at the top"
    if model.params.landscape.source == "synthetic":
        text += "; the main road runs along the southern edge, feeder roads run north from it"
    return text + "."


#: Page styles. The page is always in the light theme (the app draws in fixed
#: colours); the map shows cells as sharp squares; every slider shows its value
#: under its knob (Vuetify's sliders show it only while dragged, and students need
#: to see what they set before pressing Reset).
PAGE_CSS = """
.landsim-map-frame { width: 100%; max-width: 600px; }
.landsim-map-holder { position: relative; line-height: 0; }
.landsim-map { width: 100%; height: auto; image-rendering: pixelated; cursor: crosshair;
    user-select: none; }
.landsim-map-year { position: absolute; top: 6px; left: 6px; line-height: 1.3;
    background: rgba(255, 255, 255, 0.85); color: #111; padding: 1px 6px; border-radius: 3px;
    font-weight: bold; font-size: 14px; pointer-events: none; }
.landsim-scale { display: flex; align-items: center; gap: 6px; margin-top: 4px;
    font-size: 12px; color: #333; }
.landsim-scale-bar { height: 6px; border: 1px solid #222; border-top: none;
    background: repeating-linear-gradient(to right, #222 0 50%, #fff 50% 100%); }
.v-slider .v-slider__thumb-label-container { display: block !important; }
.v-slider .v-slider__thumb-label.primary {
    transform: translateX(-50%) translateY(24px) !important; background: transparent !important;
    color: #222 !important; width: auto !important; height: auto !important;
    border-radius: 0 !important; font-size: 12px; }
.v-slider .v-slider__thumb-label > * { transform: none !important; }
.v-input__slider { padding-bottom: 10px; }
.landsim-run td, .landsim-run th { padding: 2px 6px 2px 0; vertical-align: top; }
.landsim-key { font-family: monospace; font-size: 11px; color: #555; word-break: break-all; }
.landsim-finished { color: #1b5e20; }
.landsim-doc { max-height: 70vh; overflow-y: auto; }
"""


def choose_scale_bar(width_km: float) -> tuple[float, float]:
    """A round length for the scale bar (about a fifth of the map's width), in km, and
    the fraction of the map's width it spans."""
    target = width_km / 5
    if target <= 0:
        return 0.0, 0.0
    magnitude = 10 ** math.floor(math.log10(target))
    length = max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target)
    return length, length / width_km


def format_km(length: float) -> str:
    """A length in km for the scale bar (metres below 1 km)."""
    return f"{length * 1000:g} m" if length < 1 else f"{length:g} km"


@solara.component_vue("app_map.vue")
def MapImage(
    src: str,
    year_label: str,
    scale_label: str,
    scale_percent: float,
    event_cell_clicked: Callable[[dict], None],
):
    """The map image with the year over it and a scale bar; reports clicks as
    fractions of the image's width and height."""


def find_clicked_cell(model: LandUseModel, click: Mapping[str, float]) -> tuple[int, int] | None:
    """The (row, column) of the cell at a click given as fractions of the map's size."""
    height, width = model.landscape.shape
    try:
        x, y = float(click["x"]), float(click["y"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        return None
    return min(int(y * height), height - 1), min(int(x * width), width - 1)


@solara.component
def LandscapeMap(model: TeachingModel, selected: int | None, on_select: Callable):
    """The map with a switch between :data:`VIEWS` (no Reset needed to switch).

    Clicking a cell selects the farm that owns it (``on_select(farm id or -1)``).
    """
    update_counter.get()
    view, set_view = solara.use_state(VIEWS[0])

    def draw():
        with model.lock:
            png, legend = render_map(model, view, selected)
            return base64.b64encode(png).decode("ascii"), legend, model.year

    encoded, legend, year = solara.use_memo(draw, dependencies=[model, model.year, view, selected])
    ls = model.landscape
    length, fraction = choose_scale_bar(ls.shape[1] * ls.cell_side_km)

    def clicked(click):
        cell = find_clicked_cell(model, click)
        if cell is not None:
            owner = int(model.landscape.owner[cell])
            on_select(owner if owner >= 0 else -1)

    with solara.Column(gap="4px"):
        solara.ToggleButtonsSingle(value=view, values=list(VIEWS), on_value=set_view, dense=True)
        MapImage(
            src=f"data:image/png;base64,{encoded}",
            year_label=f"Year {year}",
            scale_label=format_km(length),
            scale_percent=100 * fraction,
            event_cell_clicked=clicked,
        )
        solara.HTML(tag="div", unsafe_innerHTML=format_legend(legend))
        solara.Text(
            describe_extent(model) + " Click a farm to see it.",
            style={"font-size": "12px", "color": "#444"},
        )
