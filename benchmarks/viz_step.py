"""Time one step of the browser view (``landsim viz``) at the default size.

Usage::

    python benchmarks/viz_step.py             # server side, every map view, 30 years
    python benchmarks/viz_step.py --browser   # also what a student waits for, in Chromium

Server side: what one press of Step costs the server for the embedded default
scenario (200 x 200 cells, 350 farms): the model's yearly step, the map in one view
drawn and encoded as PNG, the four plots' ECharts options and the run card, each year
of a 30-year run; median and maximum per map view.

``--browser``: starts ``landsim viz`` on a free port, loads the page in Debian's
Chromium (Playwright), clicks Step ``--steps`` times and times each click until
the year shown on the page has advanced: the step, the redraw, the websocket and
the browser's rendering together. The target (issue 6) is under one second.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path

from landsim import app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def time_server_steps(view: str, years: int) -> list[float]:
    """Seconds per step + redraw of the server, for each year of a run."""
    model = app.TeachingModel(**app.initial_arguments(app.make_model_params(None)))
    durations = []
    for _ in range(years):
        start = time.perf_counter()
        model.step()
        _, legend = app.render_map(model, view)
        app.format_legend(legend)
        table = model.yearly_table()
        for spec in app.TRAJECTORIES:
            app.chart_option(table, spec, model.params.years)
        app.describe_run(model)
        durations.append(time.perf_counter() - start)
    return durations


def free_port() -> int:
    with closing(socket.create_server(("127.0.0.1", 0))) as sock:
        return sock.getsockname()[1]


def start_viz(port: int) -> subprocess.Popen:
    """``landsim viz`` on ``port``, once it serves the page."""
    script = Path(sys.executable).with_name("landsim")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "landsim.cli"]
    server = subprocess.Popen(
        [*command, "viz", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return server
        except OSError:
            time.sleep(0.5)
    stop_viz(server)
    raise SystemExit("landsim viz did not start")


def stop_viz(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def time_browser_steps(steps: int) -> list[float]:
    """Seconds from a click on Step until the page shows the next year."""
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    server = start_viz(port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(f"http://127.0.0.1:{port}/")
            step = page.get_by_role("button", name="Step")
            expect(step).to_be_enabled(timeout=60_000)
            year = page.locator(".landsim-year")
            durations = []
            for k in range(1, steps + 1):
                start = time.perf_counter()
                step.click()
                expect(year).to_have_text(f"Year {k} of 30", timeout=10_000)
                durations.append(time.perf_counter() - start)
            browser.close()
    finally:
        stop_viz(server)
    return durations


def summarize(name: str, durations: list[float]) -> str:
    return (
        f"{name:<32} median {statistics.median(durations) * 1000:6.0f} ms   "
        f"max {max(durations) * 1000:6.0f} ms   (n = {len(durations)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--browser", action="store_true", help="also time steps in Chromium")
    parser.add_argument("--steps", type=int, default=10, help="browser steps (default 10)")
    args = parser.parse_args(argv)
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    for view in app.VIEWS:
        print(summarize(f"server, map view {view!r}", time_server_steps(view, 30)))
    if args.browser:
        print(summarize("browser: click Step -> next year", time_browser_steps(args.steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
