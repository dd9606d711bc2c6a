"""Landscapes in ``.npz`` files: headers checked before anything is loaded, then
the layers' dtypes and values, with errors that name the file and the layer."""

from __future__ import annotations

import math
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from landsim import limits
from landsim.landscape.generator import claims_near_lots, distance_to_road
from landsim.landscape.layers import (
    COVER_NAMES,
    NO_OWNER,
    OPTIONAL_LAYERS,
    REQUIRED_LAYERS,
    Landscape,
)
from landsim.scenario import MAX_GRID_SIDE, LandscapeParams, ScenarioError

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
    last = len(COVER_NAMES) - 1
    if cover.min() < 0 or cover.max() > last:
        problems.append(("cover", f"codes must be integers 0-{last} ({', '.join(COVER_NAMES)})"))
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

    Required layers: ``cover`` (integer codes 0-5, see :class:`Cover`), ``owner``
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
        road_distance_km=distance_to_road(road, side_km),
        claim=claims_near_lots(
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
