"""The cards beside the map: the run, the selected farm, the previous run, the
yearly table as CSV, and the About panel."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from landsim.landscape import Cover
from landsim.model import LandUseModel

#: Environment variable that carries the scenario file to the page ("" = embedded default).
from landsim.scenario import Scenario, get_path
from landsim.viz.controls import CONTROLS, CONTROLS_BY_KEY, Control
from landsim.viz.maps import COVER_STYLE
from landsim.viz.plots import PREVIOUS, read_table
from landsim.viz.teaching import TeachingModel

# --------------------------------------------------------------------------- a farm


def describe_farm(model: LandUseModel, farm: int) -> str:
    """One farm as HTML: its land by cover, savings, income and programme status."""
    ls, fs = model.landscape, model.farmers
    mine = ls.owner == farm
    ha = np.bincount(ls.cover[mine], minlength=len(Cover)) * ls.cell_size_ha
    cover = "".join(
        f"<tr><td>{html.escape(label)}</td><td align='right'>{ha[code]:,.1f} ha</td></tr>"
        for code, (_, label) in COVER_STYLE.items()
    )
    if not model.programmes:
        status = "no programme in this run"
    elif model.programmes.expelled_any()[farm]:
        status = "expelled from a programme (caught clearing)"
    elif model.programmes.enrolled_any()[farm]:
        status = "enrolled in a programme"
    elif model.programmes.ever_enrolled_any()[farm]:
        status = "was enrolled; the contract has ended"
    else:
        status = "not enrolled"
    income = (
        f"{fs.net_income_usd[farm]:,.0f} USD in year {model.year} "
        f"(programme payments {fs.payments_usd[farm]:,.0f} USD of it)"
        if model.year > 0
        else "none yet (year 0)"
    )
    return (
        f'<div class="landsim-farm"><b>Farm {farm}</b> · {mine.sum() * ls.cell_size_ha:,.1f} ha'
        f'<table style="border-collapse:collapse;font-size:13px">{cover}</table>'
        f"<p>Savings: {fs.savings_usd[farm]:,.0f} USD<br/>Net income: {income}<br/>"
        f"Income since the start: {fs.cumulative_income_usd[farm]:,.0f} USD<br/>"
        f"Primary forest it cleared: {fs.deforested_ha[farm]:,.1f} ha<br/>"
        f"Programme: {html.escape(status)}</p></div>"
    )


@solara.component
def FarmCard(model: TeachingModel, farm: int | None):
    """The farm clicked on the map (or how to pick one)."""
    update_counter.get()
    if farm is None:
        solara.Text("Click a farm on the map to see it here.", style={"font-size": "13px"})
    elif farm < 0 or farm >= model.farmers.n:
        solara.Text("That is not a farm (reserve or unowned land).", style={"font-size": "13px"})
    else:
        with model.lock:
            card = describe_farm(model, farm)
        solara.HTML(tag="div", unsafe_innerHTML=card)


# --------------------------------------------------------------------------- the run card


def describe_setting(value, unit: str) -> str:
    """One programme's setting in words: none, a number, or a number by programme
    year (such as a growing enrolment cap)."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return f"{value[0]:g} to {value[-1]:g} {unit} over {len(value)} years".strip()
    return f"{value:g} {unit}".strip()


def describe_value(scenario: Scenario, control: Control) -> str:
    """The value of a slider's parameter in ``scenario``, in words, with its unit."""
    unit = "" if control.unit == "0-1" else control.unit  # a probability needs none
    if control.is_programme:
        if not scenario.programmes:
            return "no programme"
        values = [
            get_path(p.model_dump(mode="json"), control.key.partition(".")[2])
            for p in scenario.programmes
        ]
        return ", ".join(describe_setting(v, unit) for v in values)
    if control.key == "markets.cocoa.mean" and scenario.markets.cocoa.process == "path":
        path = ", ".join(f"{v:g}" for v in scenario.markets.cocoa.values)
        return f"price path {path} {unit}, then the last value holds"
    if control.key == "markets.carbon.values" and len(scenario.markets.carbon.values) > 1:
        path = ", ".join(f"{v:g}" for v in scenario.markets.carbon.values)
        return f"price path {path} {unit}, then the last value holds"
    return f"{control.value_in(scenario):.3g} {unit}".strip()


def describe_programmes(model: LandUseModel) -> list[str]:
    """One sentence per programme of the run (HTML-escaped)."""
    sc = model.params
    if not sc.programmes:
        return [
            "No incentive programme in this run. Moving a programme slider adds the "
            "teaching programme: a payment per ha of standing forest to farms that "
            "promise not to clear."
        ]
    return [
        html.escape(
            f"Programme “{spec.name}”, years {spec.start_year}-{spec.end_year}: "
            f"{int(acc.enrolled.sum())} farms enrolled now, {int(acc.expelled.sum())} "
            f"expelled; {acc.spent_usd:,.0f} USD spent so far, "
            f"{spec.budget_usd - acc.spent_usd:,.0f} USD of its budget left."
        )
        for spec, acc in zip(sc.programmes, model.programmes.accounts, strict=True)
    ]


def describe_scenario(model: TeachingModel) -> str:
    """What runs, in words (HTML): the scenario as written, or what the sliders changed.

    A scenario's description says what the scenario is as written; once sliders
    change it (above all, once they add the teaching programme to a scenario
    without one) it no longer describes the run, and is quoted as the starting point.
    """
    name = html.escape(getattr(model, "scenario_name", model.params.name))
    base = getattr(model, "base", model.params)
    overridden = getattr(model, "overridden", {})
    if not overridden:
        return f"<b>{name}</b>, as written: {html.escape(base.description)}"
    changes = ", ".join(
        f"{html.escape(CONTROLS_BY_KEY[key].label.lower())} "
        f"{html.escape(describe_value(model.params, CONTROLS_BY_KEY[key]))}"
        for key in overridden
    )
    text = f"<b>{name}</b>, changed by the sliders ({changes})"
    if getattr(model, "adds_teaching_programme", False):
        text += (
            ": <b>the teaching programme is added</b> (a yearly payment per ha of standing "
            "forest to enrolled farms that promise not to clear)"
        )
    return f"{text}. Starting point: “{html.escape(base.description)}”."


def describe_run(model: TeachingModel) -> str:
    """The run card as HTML: scenario, year, seed, indicators, slider parameters."""
    sc, ls, rec = model.params, model.landscape, model.record
    height, width = ls.shape
    overridden = getattr(model, "overridden", {})
    rows = "".join(
        f'<tr><td>{html.escape(c.label)}<br/><span class="landsim-key">{c.key}</span></td>'
        f"<td>{html.escape(describe_value(sc, c))}"
        f"{' <b>(slider)</b>' if c.key in overridden else ''}</td></tr>"
        for c in CONTROLS
    )
    status = (
        ' · <b class="landsim-finished">the run is finished; press Reset for a new run</b>'
        if model.year >= sc.years
        else ""
    )
    income = (
        f"Farm income in year {model.year}: mean {rec['income_mean_usd']:,.0f} USD per farm, "
        f"poorest 20 % of farms {rec['income_poorest20_usd']:,.0f} USD, of which programme "
        f"payments {rec['payments_mean_usd']:,.0f} USD (mean)"
        if model.year > 0
        else "Farm income: none yet (the first harvest is in year 1)"
    )
    paragraphs = [
        describe_scenario(model),
        f'<b class="landsim-year">Year {model.year} of {sc.years}</b>{status} · '
        f"seed {model.seed} · {width} x {height} cells of {ls.cell_size_ha:g} ha · "
        f"{model.farmers.n} farms",
        f"Forest {rec['forest_area_ha']:,.0f} ha · primary forest cleared so far "
        f"{rec['cumulative_deforestation_ha']:,.0f} ha · carbon stock "
        f"{rec['carbon_stock_tc'] / 1e6:.2f} million tC · cocoa agroforestry "
        f"{rec['area_cocoa_agroforestry_ha']:,.0f} ha on {rec['adopters_cocoa_agroforestry']} "
        "farms",
        income,
    ]
    table = (
        '<table style="border-collapse:collapse;width:100%;font-size:13px">'
        '<tr><th align="left">slider and scenario key</th><th align="left">in this run</th></tr>'
        f"{rows}</table>"
    )
    footer = "<i>Moved sliders, the scenario picker and the seed take effect on Reset.</i>"
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    programmes = "".join(f"<p>{p}</p>" for p in describe_programmes(model))
    return f'<div class="landsim-run">{body}{programmes}{table}<p>{footer}</p></div>'


@solara.component
def RunCard(model: TeachingModel):
    """The scenario, year, seed, slider parameters and messages of the run."""
    update_counter.get()
    with model.lock:
        card = describe_run(model)
    with solara.Column(gap="4px"):
        for notice in getattr(model, "notices", []):
            solara.Error(notice)
        solara.HTML(tag="div", unsafe_innerHTML=card)


def describe_previous(model: TeachingModel | None) -> str:
    """How the faint lines are labelled: the previous run's scenario, sliders and seed."""
    if model is None:
        return ""
    changes = ", ".join(
        f"{CONTROLS_BY_KEY[key].label.lower()} {value:g}"
        for key, value in model.overridden.items()
    )
    return (
        f"Faint dashed lines: the {PREVIOUS} ({model.scenario_name}"
        f"{', ' + changes if changes else ''}; seed {model.seed}; to year {model.year})."
    )


# --------------------------------------------------------------------------- the table


def table_filename(model: TeachingModel) -> str:
    """The CSV file's name: scenario, seed and year."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in model.scenario_name)
    return f"landsim-{name}-seed{model.seed}-year{model.year}.csv"


def table_csv(model: TeachingModel) -> bytes:
    """The yearly table of the run so far as CSV (one row per year)."""
    return read_table(model).to_csv(index=False).encode("utf-8")


@solara.component
def TableDownload(model: TeachingModel):
    """A button that downloads the yearly table of the run so far."""
    update_counter.get()
    with solara.Row():
        solara.FileDownload(
            lambda: table_csv(model),
            filename=table_filename(model),
            label="Download the yearly table (CSV)",
            mime_type="text/csv",
        )


# --------------------------------------------------------------------------- about


#: The documents the About panel opens, by title (paths in the source checkout).
DOCUMENTS = {
    "The model (ODD description)": "docs/ODD.md",
    "The guided lab": "docs/teaching.md",
}


def find_document(relative: str) -> Path | None:
    """A document of the source checkout this module runs from, or None."""
    path = Path(__file__).resolve().parents[3] / relative  # src/landsim/viz/ -> checkout
    return path if path.is_file() else None


@solara.component
def About():
    """What the page is, with the model description and the lab to open."""
    shown, set_shown = solara.use_state(None)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            "landsim simulates smallholder households at a tropical forest frontier, year by "
            "year (an agent-based model built on Mesa). Pick a scenario, move sliders, press "
            "<b>Reset</b>, then <b>▶</b> or <b>Step</b>. The documents open here as text "
            "(they are Markdown files of the landsim repository):"
        ),
        style={"font-size": "13px"},
    )
    for title, relative in DOCUMENTS.items():
        path = find_document(relative)
        if path is None:
            solara.Text(f"{title}: {relative} in the landsim repository.")
        else:
            solara.Button(title, text=True, small=True, on_click=lambda t=title: set_shown(t))
    if shown is not None:
        path = find_document(DOCUMENTS[shown])
        dialog = solara.v.Dialog(v_model=True, on_v_model=lambda _: set_shown(None), width="900")
        with dialog, solara.Card(shown):
            with solara.Div(classes=["landsim-doc"]):
                solara.Preformatted(
                    path.read_text(encoding="utf-8") if path else "",
                    style_="white-space: pre-wrap; font-size: 13px",
                )
            solara.Button("Close", on_click=lambda: set_shown(None))
