"""Serving the page: ``solara run landsim.app:Page`` in a child process on
localhost, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.viz.scenarios import SCENARIO_ENV

# --------------------------------------------------------------------------- launching


def check_port(host: str, port: int) -> None:
    """Raise the CLI's usage error if nothing can listen on ``host:port``."""
    from landsim.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot serve on {host}:{port} ({exc.strerror or exc}); "
            "choose another port with --port"
        ) from None


def server_command(host: str, port: int) -> list[str]:
    """The ``solara run`` command serving :func:`Page`.

    Production mode (no file watching); no browser opened; no version check
    against PyPI (nothing leaves the machine).
    """
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        "landsim.app:Page",
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def server_environment(scenario_file: str | None) -> dict[str, str]:
    """The server's environment: the scenario; nothing fetched from or sent to the internet.

    Solara serves its front-end from its local asset proxy (filled by the
    ``solara-assets`` package), which it would switch off under VS Code, making the
    browser fetch it from a CDN; its telemetry is switched off.
    """
    env = dict(os.environ)
    env[SCENARIO_ENV] = str(Path(scenario_file).resolve()) if scenario_file else ""
    env["SOLARA_ASSETS_PROXY"] = "True"
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env.setdefault("MPLBACKEND", "Agg")
    # Solara warns on every page load when served on 127.0.0.1 rather than "localhost".
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet]))
    return env


def stop_server(server: subprocess.Popen, grace: float = 10.0) -> None:
    """Wait up to ``grace`` seconds for the server to end, then terminate, then kill."""
    for action in (None, server.terminate, server.kill):
        if server.poll() is not None:
            return
        if action is not None:
            action()
        try:
            server.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def exit_code(returncode: int) -> int:
    """landsim's exit code from the server's return code (a stop by Ctrl-C or SIGTERM is
    a normal end; another signal n gives 128 + n, as a shell reports it)."""
    if returncode in (-signal.SIGINT, -signal.SIGTERM):
        return 0
    return 128 - returncode if returncode < 0 else returncode


def launch(scenario_file: str | None, *, host: str, port: int) -> int:
    """Serve the browser view on ``http://host:port`` until Ctrl-C.

    Parameters
    ----------
    scenario_file : str or None
        The scenario to start with (None: the embedded default).
    host, port
        Where to listen.

    Returns
    -------
    int
        0 when stopped by Ctrl-C (or SIGTERM), else the server's exit code.
    """
    check_port(host, port)
    print(f"landsim: serving the browser view at http://{host}:{port}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    server = subprocess.Popen(server_command(host, port), env=server_environment(scenario_file))
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: server.terminate())
    try:
        return exit_code(server.wait())
    except KeyboardInterrupt:  # Ctrl-C reached the server too: it shuts down by itself
        stop_server(server, grace=5.0)
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        stop_server(server, grace=5.0)
