"""The scenarios a student can pick, and the seed field."""

from __future__ import annotations

from pathlib import Path

#: Environment variable that carries the scenario file to the page ("" = embedded default).

SCENARIO_ENV = "LANDSIM_VIZ_SCENARIO"
#: The picker's name for the scenario embedded in the package.
EMBEDDED = "default (embedded)"
TITLE = "landsim: land use at a forest frontier"


def find_scenario_dir() -> Path | None:
    """Where the shipped scenarios are, or None.

    ``landsim/scenarios`` if a wheel packages them there, else the ``scenarios``
    directory of the source checkout this module runs from (an editable install).
    Without either, the picker offers the embedded default only.
    """
    package = Path(__file__).resolve().parents[1]  # landsim/
    for candidate in (package / "scenarios", package.parents[1] / "scenarios"):
        if candidate.is_dir():
            return candidate
    return None


#: The shipped scenarios (see :func:`find_scenario_dir`).
SCENARIO_DIR = find_scenario_dir()

# --------------------------------------------------------------------------- seeds


class SeedError(ValueError):
    """A seed typed in the browser is not a whole number >= 0."""


def parse_seed(text: str | int | None) -> int | None:
    """The seed from the seed field (which delivers text).

    Parameters
    ----------
    text : str, int or None
        What the field holds; blank or None means the scenario's own seed.

    Returns
    -------
    int or None

    Raises
    ------
    SeedError
        With a message for students, if ``text`` is not a whole number >= 0.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        raise SeedError(f"The seed must be a whole number such as 42 (got {text!r}).")
    try:
        seed = int(str(text).strip())
    except ValueError:
        raise SeedError(
            f"The seed must be a whole number such as 42 (got {str(text).strip()!r})."
        ) from None
    if seed < 0:
        raise SeedError(f"The seed must be 0 or more (got {seed}).")
    return seed


# --------------------------------------------------------------------------- scenarios


def find_scenario_files(directory: Path | None = SCENARIO_DIR) -> dict[str, Path]:
    """The scenario files of ``directory`` by name (file stem), sorted; {} if absent."""
    if directory is None or not directory.is_dir():
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.toml"))}


def list_scenario_choices(
    launch_file: str | None, directory: Path | None = SCENARIO_DIR
) -> tuple[dict[str, str | None], str]:
    """The picker's entries and the one to start with.

    Parameters
    ----------
    launch_file : str or None
        The scenario ``landsim viz`` was given (None: the embedded default).
    directory : Path or None
        Where the shipped scenarios are.

    Returns
    -------
    choices : dict of str to (str or None)
        Name shown in the picker to scenario file (None: the embedded default):
        the embedded default, the launch file if it is not a shipped one, then the
        shipped scenarios.
    start : str
        The name of the launch scenario.
    """
    shipped = {name: str(path) for name, path in find_scenario_files(directory).items()}
    choices: dict[str, str | None] = {EMBEDDED: None}
    if launch_file is None:
        return choices | shipped, EMBEDDED
    launch = Path(launch_file).resolve()
    for name, path in shipped.items():
        if Path(path).resolve() == launch:
            return choices | shipped, name
    start = launch.stem if launch.stem not in shipped else str(launch_file)
    choices[start] = str(launch)
    return choices | shipped, start
