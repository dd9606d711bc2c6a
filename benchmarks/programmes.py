"""What the shipped programmes achieve against their counterfactuals, beside what
evaluations of real programmes found: writes the "programmes" section of
docs/evaluation.md.

Usage::

    python benchmarks/programmes.py              # 8 replicates x 30 years
    python benchmarks/programmes.py --quick      # 2 replicates
    python benchmarks/programmes.py --no-write   # print only

Each setting is a :func:`landsim.evaluation.compare` of a programme scenario with
its business-as-usual counterfactual on common random numbers (replicate ``i``
runs both on ``SeedSequence(0).spawn(n)[i]``), in this process. Reported per
setting, as the mean across replicates and the 2.5-97.5 % range of the
replicates:

- the reduction of primary-forest loss during the contract: ``1 - S / C`` with
  ``S`` and ``C`` the primary forest the scenario and the counterfactual cleared
  in years 1 to the programme's last contract year (the whole landscape, as the
  quasi-experimental evaluations compare project areas with matched controls);
- avoided deforestation at programme end and at the end of the run (ha);
- leakage (ha) and the part through settlers;
- the area under restoration at the end (ha), which must be 0 without a programme.

The settings are the rows of :data:`SETTINGS`: the Tambopata programme at the
seed's terms (no per-tonne payment to farmers) and with half the establishment
cost paid; with per-tonne payments to farmers at three carbon prices and three
farmers' shares, and at two prices with a yearly budget that binds; with its
enrolment capped and random targeting (so that there are farms outside it) and
at two more detection probabilities; the Caqueta conservation agreements at
three detection probabilities; the Piura reforestation credits; the soil-carbon
payments; and business as usual against itself (no programme). A second table
sets the seeds' own figures (:data:`SEED_FIGURES`) beside landsim's.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "evaluation.md"
SECTION = "programmes"
SEEDS, QUICK_SEEDS = 8, 2

TAMBOPATA, TAMBOPATA_BAU = (
    "scenarios/tambopata_redd_cocoa.toml",
    "scenarios/tambopata_baseline.toml",
)
CAQUETA, CAQUETA_BAU = (
    "scenarios/caqueta_conservation_agreements.toml",
    "scenarios/caqueta_baseline.toml",
)
PIURA, PIURA_BAU = (
    "scenarios/piura_reforestation_credits.toml",
    "scenarios/piura_highlands_baseline.toml",
)
BASELINE = "scenarios/baseline.toml"
SOIL = "scenarios/soil_carbon_slm.toml"
PRICE, SHARE = "markets.carbon.values", "programmes.0.carbon_payment.farmer_share"
DETECTION = "programmes.0.detection_probability"
#: The Tambopata programme with per-tonne payments to farmers (the credits'
#: revenue shared with them, the rest repaying the loan), to show how the effect
#: moves with the carbon price and the farmers' share.
PER_TONNE = {SHARE: 0.5}
#: A yearly budget that binds at 8 USD/tCO2e already (the payments due exceed it).
SCARCE = {"programmes.0.budget_usd_per_year": 100_000}

#: Settings: label, scenario, counterfactual, overrides of the scenario.
SETTINGS: tuple[tuple[str, str, str, dict], ...] = (
    ("Tambopata, the seed's terms", TAMBOPATA, TAMBOPATA_BAU, {}),
    (
        "Tambopata, half the establishment cost paid",
        TAMBOPATA,
        TAMBOPATA_BAU,
        {"programmes.0.establishment_support.share": 0.5},
    ),
    (
        "Tambopata per tonne, carbon 3 USD/tCO2e",
        TAMBOPATA,
        TAMBOPATA_BAU,
        PER_TONNE | {PRICE: [3.0]},
    ),
    ("Tambopata per tonne, carbon 8 USD/tCO2e", TAMBOPATA, TAMBOPATA_BAU, PER_TONNE),
    (
        "Tambopata per tonne, carbon 25 USD/tCO2e",
        TAMBOPATA,
        TAMBOPATA_BAU,
        PER_TONNE | {PRICE: [25.0]},
    ),
    (
        "Tambopata per tonne, 100,000 USD a year, carbon 8",
        TAMBOPATA,
        TAMBOPATA_BAU,
        PER_TONNE | SCARCE,
    ),
    (
        "Tambopata per tonne, 100,000 USD a year, carbon 25",
        TAMBOPATA,
        TAMBOPATA_BAU,
        PER_TONNE | SCARCE | {PRICE: [25.0]},
    ),
    ("Tambopata per tonne, farmers' share 0.1", TAMBOPATA, TAMBOPATA_BAU, {SHARE: 0.1}),
    ("Tambopata per tonne, farmers' share 0.9", TAMBOPATA, TAMBOPATA_BAU, {SHARE: 0.9}),
    ("Tambopata, detection 0.2", TAMBOPATA, TAMBOPATA_BAU, {DETECTION: 0.2}),
    ("Tambopata, detection 1.0", TAMBOPATA, TAMBOPATA_BAU, {DETECTION: 1.0}),
    (
        "Tambopata, cap 175, random targeting",
        TAMBOPATA,
        TAMBOPATA_BAU,
        {"programmes.0.enrolment_cap": 175, "programmes.0.targeting": "random"},
    ),
    ("Caqueta, detection 0.1", CAQUETA, CAQUETA_BAU, {DETECTION: 0.1}),
    ("Caqueta, detection 0.5", CAQUETA, CAQUETA_BAU, {DETECTION: 0.5}),
    ("Caqueta, detection 1.0", CAQUETA, CAQUETA_BAU, {DETECTION: 1.0}),
    ("Piura, the seed's terms", PIURA, PIURA_BAU, {}),
    ("Soil-carbon payments (SLM)", SOIL, BASELINE, {}),
    ("business as usual against itself", BASELINE, BASELINE, {}),
)

#: What evaluations of real programmes found for the reduction of forest loss.
OBSERVED = (
    "about 20-60 % less forest loss than matched controls: about 50 % in a REDD+ "
    "project of the Transamazon [Simonet2019], 47 % (24-68) in the first five years "
    "of 40 voluntary REDD+ projects [GuizarCoutino2022], 9.1 % against 4.2 % of tree "
    "cover lost in a randomised PES trial in Uganda [Jayachandran2017]; no "
    "significant effect in most Brazilian projects [West2020]"
)

#: The seeds' own figures, beside what landsim gives for the programme at the
#: seed's terms: setting label, what the seed reports, and how landsim's figure
#: is read from the scenario run's yearly table (column, year or "max" / "sum to
#: programme end", unit).
SEED_FIGURES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "Tambopata, the seed's terms",
        "COOPASER grew from 21 to 350 members",
        "enrolled_farms",
        "max",
        "farms enrolled at the most",
    ),
    (
        "Tambopata, the seed's terms",
        "a US$5.5M carbon-credit loan, repaid from credit sales",
        "finance_repaid_usd",
        "sum",
        "USD of credit sales to the contract's end",
    ),
    (
        "Tambopata, the seed's terms",
        "1,300 ha of forest restored and conserved (AIDER, buffer zone)",
        "restoration_agroforestry_ha",
        "end",
        "ha of agroforestry established by members, at the contract's end",
    ),
    (
        "Caqueta, detection 0.5",
        "36 smallholder cocoa producers in voluntary agreements",
        "enrolled_farms",
        "max",
        "farms enrolled at the most",
    ),
    (
        "Piura, the seed's terms",
        "240 ha reforested",
        "cumulative_planted_ha",
        "end",
        "ha planted by the programme's end",
    ),
    (
        "Piura, the seed's terms",
        "over 7,000 credits sold",
        "credits_tco2e",
        "sum",
        "tCO2e of credits sold to the programme's end",
    ),
    (
        "Piura, the seed's terms",
        "280 farmers benefited",
        "enrolled_farms",
        "max",
        "farms enrolled at the most",
    ),
)


def spread(values) -> str:
    """Mean [2.5-97.5 % of the replicates], NaN-aware, as text."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "n/a"
    lo, hi = np.percentile(v, [2.5, 97.5])
    digits = 0 if np.abs(v).max() >= 10 else 2
    return f"{v.mean():,.{digits}f} [{lo:,.{digits}f} to {hi:,.{digits}f}]"


def contract_reduction(comparison) -> np.ndarray:
    """Per replicate, 1 - scenario / counterfactual primary-forest clearing in
    years 1 to the last contract year (NaN without programmes)."""
    ends = [p["end_in_run"] for p in comparison.programmes if p.get("end_in_run")]
    t = comparison.trajectories
    end = max(ends) if ends else int(t["year"].max())
    window = t[(t["year"] >= 1) & (t["year"] <= end)]
    cleared = window.groupby(["run", "replicate"])["deforestation_ha"].sum().unstack(0)
    return 1.0 - cleared["scenario"].to_numpy() / cleared["counterfactual"].to_numpy()


def seed_figures(label: str, comparison) -> dict:
    """Per replicate, landsim's value of each of :data:`SEED_FIGURES` of setting
    ``label`` (read from the scenario run, up to the last contract year)."""
    ends = [p["end_in_run"] for p in comparison.programmes if p.get("end_in_run")]
    t = comparison.trajectories
    end = max(ends) if ends else int(t["year"].max())
    run = t[(t["run"] == "scenario") & (t["year"] >= 1) & (t["year"] <= end)]
    out = {}
    for setting, _, column, how, _ in SEED_FIGURES:
        if setting != label:
            continue
        by = run.groupby("replicate")[column]
        values = {"max": by.max(), "sum": by.sum(), "end": by.last()}[how]
        out[column + how] = values.to_numpy()
    return out


def measure(seeds: int) -> list[dict]:
    """Every setting of :data:`SETTINGS`, measured."""
    from landsim.evaluation import compare
    from landsim.scenario import load_scenario

    rows = []
    for label, scenario, counterfactual, overrides in SETTINGS:
        sc = load_scenario(ROOT / scenario)
        if overrides:
            sc = sc.with_overrides(overrides)
        c = compare(sc, load_scenario(ROOT / counterfactual), replicates=seeds, seed=0)
        r = c.replicates
        restoration = c.restoration.iloc[-1]
        under = sum(
            float(restoration[k])
            for k in restoration.index
            if k.startswith("restoration_") and np.isfinite(restoration[k])
        )
        rows.append(
            {
                "figures": seed_figures(label, c),
                "setting": label,
                "reduction": contract_reduction(c) * 100,
                "avoided_end": r["avoided_deforestation_programme_end_ha"],
                "avoided": r["avoided_deforestation_ha"],
                "leakage": r["leakage_ha"],
                "settlers": r["leakage_settlers_ha"],
                "restoration": under,
            }
        )
    return rows


def render(rows: list[dict], seeds: int, seconds: float, command: str) -> str:
    """The section's Markdown."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Programmes against real evaluations",
        "",
        f"Generated by `{command}` on {now}, commit `{commit}`: {seeds} replicates "
        f"(common random numbers, `SeedSequence(0).spawn({seeds})`), 30 years, "
        f"{seconds:.0f} s. Mean across replicates with the 2.5-97.5 % range in "
        "brackets. *Reduction* is the cut in primary-forest loss over the whole "
        "landscape during the contract years against the counterfactual; observed: "
        f"{OBSERVED}.",
        "",
        "| setting | reduction during the contract, % | avoided at programme end, ha "
        "| avoided at the end, ha | leakage, ha | of it through settlers, ha "
        "| under restoration at the end, ha |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [spread(row[k]) for k in ("reduction", "avoided_end", "avoided")]
        cells += [spread(row[k]) for k in ("leakage", "settlers")]
        lines.append(
            f"| {row['setting']} | " + " | ".join(cells) + f" | {row['restoration']:,.0f} |"
        )
    lines += [
        "",
        "What the programmes' own accounts (the documents each scenario file cites) "
        "report, beside what landsim gives for the programme at the seed's terms "
        "(the same runs; mean [2.5-97.5 % of the replicates]):",
        "",
        "| programme | the seed reports | landsim gives | as |",
        "|---|---|---|---|",
    ]
    by_label = {row["setting"]: row for row in rows}
    for setting, reported, column, how, meaning in SEED_FIGURES:
        values = by_label[setting]["figures"][column + how]
        name = setting.split(",")[0]
        lines.append(f"| {name} | {reported} | {spread(values)} | {meaning} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Command line: measure, print the section, write it to docs/evaluation.md."""
    sys.path.insert(0, str(HERE))
    from docsections import run_section_script

    run_section_script(
        "programmes.py",
        DOC,
        SECTION,
        SEEDS,
        QUICK_SEEDS,
        measure,
        render,
        __doc__.splitlines()[0],
        argv,
    )


if __name__ == "__main__":
    main()
