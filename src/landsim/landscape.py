"""The landscape: raster layers held as numpy arrays.

Arrays have shape ``(height, width)`` (row ``y`` from north to south, column ``x``).
A Mesa grid is never the store; :meth:`landsim.model.LandUseModel.grid` builds one
from these arrays on demand for the browser view and small runs.

The synthetic generator lays out the fishbone pattern of Amazon colonisation: a
main road along the southern edge, feeder roads running north from it every two
lot depths, and farm lots fronting the feeders on both sides, settled from the
main road inwards, with a protected reserve beyond the end of the feeders.
Roads run along cell edges, so they take no area.

References
----------
Oliveira Filho, F. J. B., & Metzger, J. P. (2006). Thresholds in landscape
structure for three common deforestation patterns in the Brazilian Amazon.
Landscape Ecology, 21, 1061-1073. (The fishbone pattern of settlement lots.)
"""

from __future__ import annotations

import math
import stat
import zipfile
import zlib
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from pathlib import Path

import numpy as np
from scipy import ndimage

from landsim import limits
from landsim.scenario import MAX_GRID_SIDE, LandscapeParams, ScenarioError, lot_depth_cells


class Cover(IntEnum):
    """Land covers. The integer codes are what the ``cover`` layer holds."""

    PRIMARY_FOREST = 0
    SECONDARY_FOREST = 1
    MONOCROP = 2
    COCOA_AGROFORESTRY = 3
    SILVOPASTURE = 4


COVER_NAMES = tuple(c.name.lower() for c in Cover)
NO_OWNER = -1

#: Layers an ``.npz`` landscape must hold, and those it may hold.
REQUIRED_LAYERS = ("cover", "owner", "protected", "road")
OPTIONAL_LAYERS = ("age", "fertility")


@dataclass
class Landscape:
    """Cell state as raster layers (all arrays of shape ``(height, width)``).

    Attributes
    ----------
    cover : int8 array
        :class:`Cover` code.
    age : int16 array
        Years since the current cover was established.
    fertility : float64 array
        Soil fertility index in [0, 1] (1 = fresh forest soil).
    owner : int32 array
        Farm id, or ``NO_OWNER`` (-1).
    protected : bool array
        Reserve cells; they never change unless the scenario allows it.
    road : bool array
        Cells that front a road.
    road_distance_km : float32 array
        Distance from the cell centre to the nearest road (km).
    claim : int32 array
        For unowned cells within the claim distance of a lot (unprotected ones,
        unless the scenario lets protected cells change), the farm that may clear
        it (the nearest); otherwise -1.
    biomass_tc_per_ha, soc_tc_per_ha, soc_rate_tc_per_ha : float64 arrays
        Biomass carbon (above + below ground), soil organic carbon, and the yearly
        soil carbon change while a transition lasts; set by the model.
    cell_size_ha : float
        Area of one cell (ha).
    """

    cover: np.ndarray
    age: np.ndarray
    fertility: np.ndarray
    owner: np.ndarray
    protected: np.ndarray
    road: np.ndarray
    road_distance_km: np.ndarray
    claim: np.ndarray
    cell_size_ha: float
    biomass_tc_per_ha: np.ndarray | None = None
    soc_tc_per_ha: np.ndarray | None = None
    soc_rate_tc_per_ha: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.cover.shape

    @property
    def n_farms(self) -> int:
        return int(self.owner.max()) + 1 if self.owner.size else 0

    @property
    def cell_side_km(self) -> float:
        return float(np.sqrt(self.cell_size_ha)) * 0.1

    def layers(self) -> dict[str, np.ndarray]:
        """All raster layers by name (the arrays themselves, not copies)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }

    def copy(self, carbon: bool = True) -> Landscape:
        """A copy whose layers are copies (``carbon=False`` leaves out the carbon
        layers, which :class:`~landsim.model.LandUseModel` sets from the others)."""
        copied = {name: layer.copy() for name, layer in self.layers().items()}
        if not carbon:
            copied |= dict.fromkeys(
                ("biomass_tc_per_ha", "soc_tc_per_ha", "soc_rate_tc_per_ha"), None
            )
        return replace(self, **copied)


# --------------------------------------------------------------------------- generator


def generate_landscape(
    params: LandscapeParams, rng: np.random.Generator, source: str = "scenario"
) -> Landscape:
    """Generate a fishbone frontier landscape, deterministically from ``rng``.

    Raises
    ------
    ScenarioError
        If ``n_farms`` lots do not fit in the area left outside the reserve, or
        the landscape would need more memory than is available.
    """
    height, width = params.height, params.width
    limits.check_memory(  # before allocating anything (callers without a model too)
        limits.memory_bytes(height * width, params.n_farms),
        source,
        "landscape.width, landscape.height",
        f"a {width} x {height} landscape with {params.n_farms} farms",
    )
    depth = lot_depth_cells(params)
    side_km = float(np.sqrt(params.cell_size_ha)) * 0.1
    reserve_rows = round(params.reserve_fraction * height)

    owner, road, lot_area_cells = _lay_out_lots(params, depth, reserve_rows, rng, source)
    n_farms = lot_area_cells.size

    protected = np.zeros((height, width), dtype=bool)
    protected[:reserve_rows, :] = True

    road_distance_km = _distance_to_road(road, side_km)
    cover, age, fertility = _initial_cover(params, owner, road_distance_km, n_farms, rng)
    claim = _claims(
        owner, protected, params.claim_distance_km / side_km, params.protected_can_change
    )
    return Landscape(
        cover=cover,
        age=age,
        fertility=fertility,
        owner=owner,
        protected=protected,
        road=road,
        road_distance_km=road_distance_km,
        claim=claim,
        cell_size_ha=params.cell_size_ha,
    )


def _lay_out_lots(params: LandscapeParams, depth: int, reserve_rows: int, rng, source: str):
    """Cut lots along feeder roads; keep the ``n_farms`` nearest the main road."""
    height, width = params.height, params.width
    strip_len = height - reserve_rows
    # Feeder roads run along the western edge of column c, for c = depth, 3 depth, ...
    feeders = np.arange(depth, width, 2 * depth)
    if strip_len < 1 or feeders.size == 0:
        raise ScenarioError(  # the scenario's validation refuses such a layout first
            source,
            [
                (
                    "landscape",
                    f"no room for lots: {width} x {height} cells, lot depth {depth} cells",
                )
            ],
        )
    strips = []  # (first column, last column + 1)
    for c in feeders:
        strips.append((max(0, c - depth), c))  # west side of the feeder
        strips.append((c, min(width, c + depth)))  # east side

    # Lot frontages (rows along the feeder) from the lot-size distribution.
    lots = []  # (distance from main road in rows, strip index, first row, n rows)
    n_draw = strip_len  # a lot is at least one row deep, so this many always suffice
    for s, (c0, c1) in enumerate(strips):
        size_cells = params.lot_size_ha.sample(rng, n_draw) / params.cell_size_ha
        rows = np.maximum(1, np.rint(size_cells / (c1 - c0))).astype(np.int64)
        ends = np.cumsum(rows)
        keep = ends <= strip_len
        starts = ends[keep] - rows[keep]
        for start, n in zip(starts, rows[keep], strict=True):
            lots.append((start, s, height - start - n, n))
    lots.sort()
    if len(lots) < params.n_farms:
        raise ScenarioError(
            source,
            [
                (
                    "landscape.n_farms",
                    f"{params.n_farms} lots do not fit: this layout holds at most {len(lots)} "
                    "(raise width/height, lower reserve_fraction or lot_size_ha)",
                )
            ],
        )
    owner = np.full((height, width), NO_OWNER, dtype=np.int32)
    area = np.zeros(params.n_farms, dtype=np.int64)
    for farm, (_, s, row0, n) in enumerate(lots[: params.n_farms]):
        c0, c1 = strips[s]
        owner[row0 : row0 + n, c0:c1] = farm
        area[farm] = n * (c1 - c0)

    road = np.zeros((height, width), dtype=bool)
    road[height - 1, :] = True  # the main road along the southern edge
    for c in feeders:
        road[reserve_rows:, c - 1] = True
        road[reserve_rows:, c] = True
    return owner, road, area


def _distance_to_road(road: np.ndarray, side_km: float) -> np.ndarray:
    """Distance (km) from each cell centre to the nearest road (on a cell edge)."""
    if not road.any():
        return np.full(road.shape, np.inf, dtype=np.float32)
    d = ndimage.distance_transform_edt(~road)
    return ((d + 0.5) * side_km).astype(np.float32)


def _initial_cover(params, owner, road_distance_km, n_farms, rng):
    """Clear a share of each lot nearest its road; some of it lies fallow."""
    shape = owner.shape
    cover = np.full(shape, Cover.PRIMARY_FOREST, dtype=np.int8)
    age = np.zeros(shape, dtype=np.int16)
    fertility = np.ones(shape, dtype=np.float64)

    # Validation keeps both distributions inside [0, 1]: no clipping needed.
    cleared_share = params.initial_cleared_fraction.sample(rng, n_farms)
    cells = np.flatnonzero(owner.ravel() >= 0)
    farm = owner.ravel()[cells]
    order = lexsort_groups(farm, road_distance_km.ravel()[cells], rng.random(cells.size))
    cells, farm = cells[order], farm[order]
    lot_size = np.bincount(farm, minlength=n_farms)
    cleared = rank_within_groups(farm) < np.rint(cleared_share * lot_size)[farm]
    cleared_cells = cells[cleared]

    fallow = rng.random(cleared_cells.size) < params.initial_fallow_share
    flat_cover, flat_age, flat_fert = cover.ravel(), age.ravel(), fertility.ravel()
    flat_cover[cleared_cells] = np.where(fallow, Cover.SECONDARY_FOREST, Cover.MONOCROP)
    flat_age[cleared_cells] = np.where(
        fallow, rng.integers(1, 16, cleared_cells.size), rng.integers(0, 6, cleared_cells.size)
    )
    flat_fert[cleared_cells] = params.initial_fertility.sample(rng, cleared_cells.size)
    return cover, age, fertility


def _claims(
    owner: np.ndarray, protected: np.ndarray, max_cells: float, include_protected: bool
) -> np.ndarray:
    """Unowned cells within ``max_cells`` of a lot (protected ones only when
    ``include_protected``): the nearest lot's farm, which may clear them."""
    claim = np.full(owner.shape, NO_OWNER, dtype=np.int32)
    owned = owner >= 0
    if max_cells <= 0 or not owned.any():
        return claim
    dist, (iy, ix) = ndimage.distance_transform_edt(~owned, return_indices=True)
    near = (~owned) & (dist <= max_cells)
    if not include_protected:
        near &= ~protected
    claim[near] = owner[iy[near], ix[near]]
    return claim


def lexsort_groups(groups: np.ndarray, key: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """``np.lexsort((uniforms, key, groups))``, several times faster.

    The three keys are folded into one float, ``(group x n_keys + rank of key) +
    uniform``: rounding the sum keeps the order of any two elements or makes them
    equal, so when the folded keys are all distinct their (unique) sorted order is
    the lexsort's; otherwise the lexsort itself is done.

    Parameters
    ----------
    groups : int ndarray
        Non-negative group labels (the primary key).
    key : ndarray
        Secondary key (any sortable dtype without NaN).
    uniforms : float ndarray
        Tie-breaking uniforms in [0, 1) (the last key).

    Returns
    -------
    ndarray
        The indices that sort the elements.
    """
    if groups.size < 2:
        return np.lexsort((uniforms, key, groups))
    values, key_rank = np.unique(key, return_inverse=True)
    folded = (groups.astype(np.int64) * values.size + key_rank) + uniforms
    order = np.argsort(folded)
    ranked = folded[order]
    if not (ranked[1:] > ranked[:-1]).all():
        return np.lexsort((uniforms, key, groups))
    return order


def rank_within_groups(sorted_groups: np.ndarray) -> np.ndarray:
    """Rank (0, 1, ...) of each element within its run of equal group labels.

    ``sorted_groups`` must be sorted (or at least grouped), e.g. the primary key
    of a ``np.lexsort``. Used to pick the first k cells of each farm.
    """
    n = sorted_groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    position = np.arange(n)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(sorted_groups[1:], sorted_groups[:-1], out=first[1:])
    # The start of each element's run: the last run start at or before it.
    group_start = np.maximum.accumulate(np.where(first, position, 0))
    return position - group_start


# --------------------------------------------------------------------------- npz I/O

#: dtype kinds each layer may have (``b`` boolean, ``i``/``u`` integers, ``f`` floats).
LAYER_KINDS = {
    "cover": "iu",
    "owner": "iu",
    "protected": "biu",
    "road": "biu",
    "age": "iuf",
    "fertility": "iuf",
}
_KIND_NAMES = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats"}
#: Oldest cover age a landscape file may give (years).
MAX_AGE = 10_000


@dataclass(frozen=True)
class _Member:
    """A layer of an ``.npz`` file, from its npy header (nothing loaded yet)."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _file_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable landscape file, or None (regular files only:
    a FIFO or a device would block or never end)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "landscape file not found (named by the scenario's landscape.source)"
    except PermissionError:
        return "permission denied"
    except (OSError, ValueError) as exc:
        return f"cannot read this file: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, expected an .npz file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, FIFO or socket); give an .npz file"
    return None


def _open_npz(path: Path, src: str) -> zipfile.ZipFile:
    problem = _file_problem(path)
    if problem is not None:
        raise ScenarioError(src, [("", problem)])
    try:
        with path.open("rb") as fh:
            head = fh.read(6)
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        if head == b"\x93NUMPY":
            why = "it is a single .npy array; save the layers with numpy.savez"
        elif not head:
            why = "the file is empty"
        else:
            why = str(exc) or type(exc).__name__
        raise ScenarioError(
            src, [("", f"not a readable .npz file (a zip archive of .npy layers): {why}")]
        ) from None


_READ_ERRORS = (
    ValueError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    SyntaxError,
    TypeError,
)


def _read_members(zf: zipfile.ZipFile, src: str) -> dict[str, _Member]:
    """Each layer's shape and dtype from its npy header; unknown, encrypted,
    oddly compressed or non-npy members, and layers that are not 2-D arrays of
    numbers, are refused."""
    allowed = REQUIRED_LAYERS + OPTIONAL_LAYERS
    members: dict[str, _Member] = {}
    problems: list[tuple[str, str]] = []
    infos = zf.infolist()
    if len(infos) > 4 * len(allowed):
        raise ScenarioError(
            src, [("", f"holds {len(infos)} arrays; allowed layers: {', '.join(allowed)}")]
        )
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name not in allowed or not info.filename.endswith(".npy"):
            problems.append((name, f"unknown layer; allowed: {', '.join(allowed)}"))
            continue
        if name in members:
            problems.append((name, "the file holds this layer twice"))
            continue
        if info.flag_bits & 0x1:
            problems.append((name, "the layer is encrypted; save it without a password"))
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problems.append(
                (
                    name,
                    f"compressed with zip method {info.compress_type}; only stored or deflated "
                    "layers are read (numpy.savez or numpy.savez_compressed)",
                )
            )
            continue
        try:
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"npy format version {version} is not supported")
        except _READ_ERRORS as exc:
            problems.append((name, f"not a valid .npy array: {exc}"))
            continue
        members[name] = _Member(info, tuple(shape), np.dtype(dtype))
    problems += [
        (
            name,
            f"required layer is missing (layers found: {', '.join(sorted(members)) or 'none'})",
        )
        for name in REQUIRED_LAYERS
        if name not in members and not any(key == name for key, _ in problems)
    ]
    if problems:
        raise ScenarioError(src, problems)

    shape = members["cover"].shape
    for name, member in members.items():
        kinds = LAYER_KINDS[name]
        allowed_kinds = " or ".join(dict.fromkeys(_KIND_NAMES[k] for k in kinds))
        if member.dtype.hasobject or member.dtype.kind not in kinds:
            problems.append(
                (name, f"holds {member.dtype} values; this layer must hold {allowed_kinds}")
            )
        elif name == "cover" and (len(shape) != 2 or min(shape) < 1):
            problems.append(
                (name, f"shape {shape}: layers must be 2-D arrays of at least 1 x 1 cells")
            )
        elif member.shape != shape:
            problems.append((name, f"shape {member.shape} differs from cover's 2-D shape {shape}"))
    if problems:
        raise ScenarioError(src, problems)
    return members


def npz_shape(path: str | Path) -> tuple[int, int] | None:
    """The ``(height, width)`` of a landscape file from its ``cover`` layer's npy
    header (nothing is loaded), or None if the file cannot be read as one."""
    try:
        zf = _open_npz(Path(path), str(path))
    except ScenarioError:
        return None
    with zf:
        try:
            shape = _read_members(zf, str(path))["cover"].shape
        except ScenarioError:
            return None
    return (shape[0], shape[1]) if len(shape) == 2 else None


def _load_member(zf: zipfile.ZipFile, name: str, member: _Member, src: str) -> np.ndarray:
    try:
        with zf.open(member.info) as fh:
            arr = np.lib.format.read_array(fh, allow_pickle=False)
            if fh.read(1):  # reading to the end also checks the CRC
                raise ValueError("data after the array")
    except _READ_ERRORS as exc:
        raise ScenarioError(src, [(name, f"cannot be read (damaged file?): {exc}")]) from None
    if arr.shape != member.shape or arr.dtype != member.dtype:
        raise ScenarioError(src, [(name, "the layer differs from its header")])
    return arr


def _check_values(data: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    problems = []
    cover = data["cover"]
    if cover.min() < 0 or cover.max() > 4:
        problems.append(("cover", f"codes must be integers 0-4 ({', '.join(COVER_NAMES)})"))
    raw_owner = data["owner"]
    if raw_owner.min() < -1:
        problems.append(("owner", "must be integers: a farm id >= 0, or -1 for no owner"))
    for name in ("protected", "road"):
        arr = data[name]
        if arr.dtype.kind != "b" and not np.isin(arr, (0, 1)).all():
            problems.append((name, "must be booleans (or integers 0 and 1)"))
    if "age" in data:
        age = data["age"]
        if age.dtype.kind == "f" and not np.isfinite(age).all():
            problems.append(("age", "must be finite numbers (no NaN or infinity)"))
        elif age.min() < 0 or age.max() > MAX_AGE:
            problems.append(("age", f"must lie in 0-{MAX_AGE} years"))
        elif age.dtype.kind == "f" and not (age == np.round(age)).all():
            problems.append(("age", "must be whole years"))
    if "fertility" in data:
        fertility = data["fertility"]
        if not np.all((fertility >= 0) & (fertility <= 1)):
            problems.append(("fertility", "must lie in [0, 1] (no NaN)"))
    return problems


def load_landscape(path: str | Path, params: LandscapeParams) -> Landscape:
    """Read a landscape from an ``.npz`` file of named layers.

    Required layers: ``cover`` (integer codes 0-4, see :class:`Cover`), ``owner``
    (integer farm id or -1), ``protected`` and ``road``
    (booleans, or integers 0/1), all of one 2-D shape of 1 to 20000 rows and
    columns. Optional: ``age`` (whole years 0-10000, default 0) and ``fertility``
    (0-1, default 1). Farm ids are renumbered 0..n-1 in order of their original
    ids. The cell size comes from the scenario (``landscape.cell_size_ha``).

    Only a regular file is read, never with pickles. Every layer's npy header
    (shape and dtype) is read before any layer is loaded, and the memory the
    layers and the model need (:mod:`landsim.limits`) is checked against what is
    available, so a small file that would inflate to huge layers is refused.

    Raises
    ------
    ScenarioError
        Naming the file and the layer for an unreadable file, a missing, unknown,
        misshapen, mistyped or out-of-range layer, or a landscape too large for
        the memory available.
    """
    src = str(path)
    with _open_npz(Path(path), src) as zf:
        members = _read_members(zf, src)
        height, width = members["cover"].shape
        cells = height * width
        raw_bytes = sum(m.nbytes for m in members.values())
        limits.check_memory(  # the farms are counted once the owner layer is read
            limits.memory_bytes(cells, 0) + raw_bytes,
            src,
            "",
            f"a {width} x {height} landscape (from the layers' headers)",
        )
        if max(height, width) > MAX_GRID_SIDE:
            raise ScenarioError(
                src,
                [
                    (
                        "cover",
                        f"shape {(height, width)}: layers may have at most {MAX_GRID_SIDE} "
                        "rows and columns",
                    )
                ],
            )
        data = {name: _load_member(zf, name, m, src) for name, m in members.items()}

    problems = _check_values(data)
    if problems:
        raise ScenarioError(src, problems)
    shape = (height, width)
    cover = data["cover"]
    raw_owner = data["owner"]
    age = data.get("age", np.zeros(shape, dtype=np.int16))
    fertility = data.get("fertility", np.ones(shape))

    owner = np.full(shape, NO_OWNER, dtype=np.int32)
    owned = raw_owner >= 0
    if owned.any():
        _, owner[owned] = np.unique(raw_owner[owned], return_inverse=True)
    n_farms = int(owner.max()) + 1 if owner.size else 0
    limits.check_memory(
        limits.memory_bytes(cells, n_farms) + raw_bytes,
        src,
        "owner",
        f"a {width} x {height} landscape with {n_farms} farms",
    )
    protected = data["protected"].astype(bool)
    road = data["road"].astype(bool)
    side_km = float(np.sqrt(params.cell_size_ha)) * 0.1
    return Landscape(
        cover=cover.astype(np.int8),
        age=age.astype(np.int16),
        fertility=fertility.astype(np.float64),
        owner=owner,
        protected=protected,
        road=road,
        road_distance_km=_distance_to_road(road, side_km),
        claim=_claims(
            owner, protected, params.claim_distance_km / side_km, params.protected_can_change
        ),
        cell_size_ha=params.cell_size_ha,
    )


def save_landscape(landscape: Landscape, path: str | Path) -> None:
    """Write the layers :func:`load_landscape` reads (a round trip keeps the map)."""
    np.savez_compressed(
        path,
        **{name: getattr(landscape, name) for name in REQUIRED_LAYERS + OPTIONAL_LAYERS},
    )
