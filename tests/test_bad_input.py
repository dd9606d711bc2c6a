"""Bad input of every kind ends in a ScenarioError naming the file and the key
(exit status 2 from the command line), never in a traceback, a hang, a silent
default or silent clipping."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from landsim import limits
from landsim.agents import draw_farmers
from landsim.cli import main
from landsim.landscape import generate_landscape, load_landscape, save_landscape
from landsim.model import LandUseModel
from landsim.scenario import (
    MAX_DEPTH,
    MAX_EXTENDS,
    MAX_NAME_CHARS,
    Scenario,
    ScenarioError,
    load_scenario,
)

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = (
    '[[programmes]]\nname = "p"\nstart_year = 1\nend_year = 5\nbudget_usd = 1e5\n'
    'budget_usd_per_year = 1e4\nenrolment_cap = 10\ntargeting = "random"\nfinance = "public"\n'
    "detection_probability = 0.5\nexpel_on_violation = true\nwarnings_before_expulsion = 0\n"
    "repay_on_violation = false\n"
    "[programmes.forest_payment]\nusd_per_ha_per_year = 10.0\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, key: str = "") -> str:
    """Load ``path``; it must fail with a ScenarioError naming it (and ``key``)."""
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(path)
    msg = str(excinfo.value)
    assert str(path.name) in msg, msg
    if key:
        assert f"{key}:" in msg, msg
    return msg


def _leaves(data, prefix=""):
    """Dotted paths and values of every scalar of a scenario's plain data."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _leaves(value, f"{prefix}{i}.")
    else:
        yield prefix[:-1], data


def _numeric_leaves():
    """Every numeric key of the default and the shipped scenarios (programme
    components included), with a scenario that has it."""
    found: dict[str, Scenario] = {}
    for path in [None, *sorted((ROOT / "scenarios").glob("*.toml"))]:
        sc = load_scenario(path)
        for key, value in _leaves(sc.to_dict()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                found.setdefault(key, sc)
    return found


NUMERIC_LEAVES = _numeric_leaves()


# --------------------------------------------------------------------------- ranges


class TestRanges:
    @pytest.mark.parametrize("value", ["-0.5", "-5.0"])
    def test_negative_discount_rate_is_refused_not_clipped(self, tmp_path, value):
        path = _write(tmp_path / "s.toml", f"[farmers]\ndiscount_rate = {value}\n")
        msg = _refused(path, "farmers.discount_rate")
        assert "[0, inf)" in msg

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            (
                'discount_rate = { dist = "uniform", low = -0.1, high = 0.2 }',
                "farmers.discount_rate",
                "uniform low",
            ),
            (
                'knowledge = { dist = "uniform", low = 0.5, high = 1.5 }',
                "farmers.knowledge",
                "[0, 1]",
            ),
            (
                'discount_rate = { dist = "normal", mean = 0.15, sd = 0.05 }',
                "farmers.discount_rate",
                "give low = 0",
            ),
            (
                'knowledge = { dist = "normal", mean = 0.3, sd = 0.1, low = 0.0 }',
                "farmers.knowledge",
                "give high = 1",
            ),
            (
                'knowledge = { dist = "lognormal", mean = 0.3, cv = 0.5 }',
                "farmers.knowledge",
                "lognormal",
            ),
            (
                'savings_usd = { dist = "normal", mean = 1.0, sd = 1.0, low = 0.9, high = 0.1 }',
                "farmers.savings_usd",
                "must be >= low",
            ),
        ],
    )
    def test_distribution_must_lie_in_the_range(self, tmp_path, text, key, words):
        path = _write(tmp_path / "s.toml", f"[farmers]\n{text}\n")
        assert words in _refused(path, key)

    def test_landscape_distributions_are_shares(self, tmp_path):
        path = _write(
            tmp_path / "s.toml",
            '[landscape]\ninitial_fertility = { dist = "uniform", low = 0.5, high = 1.2 }\n',
        )
        _refused(path, "landscape.initial_fertility")

    def test_a_normal_with_low_is_an_explicit_truncation(self, default_scenario):
        sc = default_scenario.with_overrides(
            {"farmers.discount_rate": {"dist": "normal", "mean": 0.0, "sd": 0.1, "low": 0.0}}
        )
        owner = np.arange(400).reshape(20, 20)
        rates = draw_farmers(sc.farmers, owner, 3, np.random.default_rng(0)).discount_rate
        assert rates.min() == 0.0 and (rates == 0.0).mean() > 0.3

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            (
                "[markets.monocrop]\nsupply_flexibility = -0.5\n",
                "markets.monocrop.supply_flexibility",
                "greater than or equal to 0",
            ),
            (
                "[markets.beef]\nsupply_flexibility = 7.0\n",
                "markets.beef.supply_flexibility",
                "less than or equal to 5",
            ),
            (
                "[markets.beef]\nrealised_prices = [1.0, -2.0]\n",
                "markets.beef.realised_prices.1",
                "greater than 0",
            ),
            (
                "[markets.cocoa]\nsupply_flexibility = 0.5\n",
                "markets.cocoa.supply_flexibility",
                "unknown key; allowed keys",
            ),
        ],
    )
    def test_price_flexibility(self, tmp_path, text, key, words):
        """Prices respond to supply only for annual crops and beef, by a flexibility
        in [0, 5]; a fixed realised price must be positive."""
        assert words in _refused(_write(tmp_path / "s.toml", text), key)

    def test_contract_cover_is_a_flag(self, tmp_path):
        text = PROGRAMME + (
            '[programmes.obligations]\nprotected_forest = "all"\nno_clearing = true\n'
            "min_forest_share = 0.0\nmin_sustainable_ha_per_40ha = 0.0\ngrace_years = 0\n"
            "covers_claimed_land = 1\n"
        )
        msg = _refused(
            _write(tmp_path / "s.toml", text), "programmes.0.obligations.covers_claimed_land"
        )
        assert "boolean" in msg.lower()

    def test_share_above_one(self, tmp_path):
        path = _write(tmp_path / "s.toml", "[decision]\nknowledge_cost_premium = 2.0\n")
        _refused(path, "decision.knowledge_cost_premium")

    @pytest.mark.parametrize(
        ("text", "key", "words"),
        [
            (
                "[forest]\nplanted_growth_rate = 0.0\n",
                "forest.planted_growth_rate",
                "greater than 0",
            ),
            ("[forest]\nplanted_shape = -1.0\n", "forest.planted_shape", "greater than 0"),
            (
                "[forest]\nplanted_agb_max_tc_per_ha = 0\n",
                "forest.planted_agb_max_tc_per_ha",
                "greater than 0",
            ),
            (
                "[forest]\nplanting_labour_days_per_ha = -5\n",
                "forest.planting_labour_days_per_ha",
                "greater than or equal to 0",
            ),
            (
                PROGRAMME.replace("[programmes.forest_payment]\nusd_per_ha_per_year = 10.0\n", "")
                + "[programmes.carbon_payment]\npay_removals = true\n"
                "pay_avoided_emissions = false\npay_soil_carbon = false\n"
                "baseline_clearing_ha_per_farm_per_year = 0.0\nfarmer_share = 0.1\n"
                'collective_use = "reforestation"\nreforestation_cost_usd_per_ha = 0.0\n',
                "programmes.0.carbon_payment.reforestation_cost_usd_per_ha",
                "greater than 0",
            ),
        ],
    )
    def test_planting_parameters(self, tmp_path, text, key, words):
        """Planting (ARR, ODD 7.17): its growth curve and labour, and its cost."""
        path = _write(tmp_path / "s.toml", text)
        assert words in _refused(path, key)

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("seed = 18446744073709551616\n", "seed"),
            ("[landscape]\nlot_depth_km = 1e308\n", "landscape.lot_depth_km"),
            ("[landscape]\ncell_size_ha = 1e-300\n", "landscape.cell_size_ha"),
            ("[landscape]\nlot_depth_km = 30.0\n", "landscape"),
            ("[landscape]\nheight = 10\nreserve_fraction = 0.99\n", "landscape"),
        ],
    )
    def test_values_beyond_what_the_model_can_use(self, tmp_path, text, key):
        # Today these overflow, or reach the generator, whose message lacks the file.
        path = _write(tmp_path / "s.toml", text)
        _refused(path, key)


# --------------------------------------------------------------------------- numbers


class TestNumbers:
    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("[markets.cocoa]\nmean = inf\n", "markets.cocoa.mean"),
            ("[forest]\nsecondary_growth_rate = inf\n", "forest.secondary_growth_rate"),
            (
                "[cocoa_agroforestry]\nestablishment_cost_usd_per_ha = inf\n",
                "cocoa_agroforestry.establishment_cost_usd_per_ha",
            ),
            (
                "[decision]\nimitation_weight_usd_per_ha = inf\n",
                "decision.imitation_weight_usd_per_ha",
            ),
            (
                '[markets.beef]\nprocess = "path"\nvalues = [1.2, inf]\n',
                "markets.beef.values.1",
            ),
            ("[farmers]\nsavings_usd = nan\n", "farmers.savings_usd"),
            ("[farmers]\ndiscount_rate = nan\n", "farmers.discount_rate"),
            (
                '[landscape]\ninitial_fertility = { dist = "uniform", low = -inf, high = 1.0 }\n',
                "landscape.initial_fertility.low",
            ),
            (
                '[farmers]\nsavings_usd = { dist = "uniform", low = nan, high = 0.5 }\n',
                "farmers.savings_usd.low",
            ),
        ],
    )
    def test_non_finite_numbers_are_refused(self, tmp_path, text, key):
        path = _write(tmp_path / "s.toml", text)
        assert "finite" in _refused(path, key)

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("[markets.beef]\nreversion = true\n", "markets.beef.reversion"),
            ("[monocrop]\nlabour_days_per_ha = true\n", "monocrop.labour_days_per_ha"),
            ("[farmers]\nknowledge = true\n", "farmers.knowledge"),
            (PROGRAMME.replace("start_year = 1", "start_year = true"), "programmes.0.start_year"),
            ('years = "20"\n', "years"),
            ("[landscape]\nprotected_can_change = 1\n", "landscape.protected_can_change"),
        ],
    )
    def test_booleans_and_strings_are_not_numbers(self, tmp_path, text, key):
        path = _write(tmp_path / "s.toml", text)
        _refused(path, key)

    def test_numeric_keys_cover_the_programme_components(self):
        for section in ("obligations", "forest_payment", "carbon_payment", "training"):
            assert any(f".{section}." in key for key in NUMERIC_LEAVES), section
        assert len(NUMERIC_LEAVES) > 100

    @pytest.mark.parametrize("path", sorted(NUMERIC_LEAVES))
    def test_every_number_refuses_booleans_strings_and_non_finite_values(self, path):
        # Overrides (batch grids, points and samples) are validated like files.
        scenario = NUMERIC_LEAVES[path]
        for bad in (True, False, "1", float("nan"), float("inf"), -float("inf")):
            with pytest.raises(ScenarioError) as excinfo:
                scenario.with_overrides({path: bad}, source="grid point 3")
            assert str(excinfo.value).startswith(f"grid point 3: {path}"), (bad, excinfo.value)

    def test_overrides_name_the_key(self, default_scenario):
        with pytest.raises(ScenarioError, match=r"farmers\.discount_rate: .*finite"):
            default_scenario.with_overrides({"farmers.discount_rate": float("nan")})


# --------------------------------------------------------------------------- files


class TestFiles:
    @pytest.mark.parametrize(
        "raw",
        [
            'description = "Madre de Díos"\n'.encode("latin-1"),
            'description = "Madre de Díos"\n'.encode("utf-16"),
            b'description = "lone \xed\xa0\x80 surrogate"\n',
        ],
        ids=["latin-1", "utf-16", "lone-surrogate"],
    )
    @pytest.mark.parametrize("as_parent", [False, True])
    def test_encodings(self, tmp_path, raw, as_parent):
        bad = tmp_path / "bad.toml"
        bad.write_bytes(raw)
        path = _write(tmp_path / "child.toml", 'extends = "bad.toml"\n') if as_parent else bad
        with pytest.raises(ScenarioError) as excinfo:
            load_scenario(path)
        assert "bad.toml" in str(excinfo.value) and "UTF-8" in str(excinfo.value)

    def test_utf8_byte_order_mark_is_accepted(self, tmp_path):
        path = tmp_path / "bom.toml"
        path.write_bytes(b"\xef\xbb\xbfyears = 12\n")
        assert load_scenario(path).years == 12

    def test_experiment_files_share_the_reader(self, tmp_path):
        from landsim.experiment import load_experiment

        path = tmp_path / "exp.toml"
        path.write_bytes('name = "Díos"\n'.encode("latin-1"))
        with pytest.raises(ScenarioError, match="UTF-8"):
            load_experiment(path)

    @pytest.mark.parametrize("as_parent", [False, True])
    def test_devices_are_not_read(self, tmp_path, as_parent):
        path = Path("/dev/zero")
        if as_parent:
            path = _write(tmp_path / "child.toml", 'extends = "/dev/zero"\n')
        with pytest.raises(ScenarioError, match="regular file"):
            load_scenario(path)

    def test_size_limit(self, tmp_path):
        path = _write(tmp_path / "big.toml", "# padding\n" * 500_000)
        assert "limited to" in _refused(path)

    def test_binary_parent(self, tmp_path):
        (tmp_path / "blob.toml").write_bytes(bytes(range(256)) * 4)
        path = _write(tmp_path / "child.toml", 'extends = "blob.toml"\n')
        with pytest.raises(ScenarioError, match=r"blob\.toml"):
            load_scenario(path)

    def test_deep_inline_tables(self, tmp_path):
        path = _write(tmp_path / "s.toml", "junk = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n")
        assert f"more than {MAX_DEPTH} deep" in _refused(path)

    def test_deep_arrays(self, tmp_path):
        path = _write(tmp_path / "s.toml", "junk = " + "[" * 5000 + "]" * 5000 + "\n")
        assert f"more than {MAX_DEPTH} deep" in _refused(path)

    def test_moderately_deep_tables_under_an_unknown_key(self, tmp_path):
        path = _write(tmp_path / "s.toml", "junk = " + "{a = " * 200 + "1" + "}" * 200 + "\n")
        assert f"more than {MAX_DEPTH} deep" in _refused(path)

    def test_deep_override_value(self, default_scenario):
        value: dict = {}
        for _ in range(2000):
            value = {"a": value}
        with pytest.raises(ScenarioError, match="deep"):
            default_scenario.with_overrides({"farmers.knowledge": value})

    def test_long_extends_chain(self, tmp_path):
        _write(tmp_path / "f0.toml", "years = 7\n")
        for i in range(1, 1200):
            _write(tmp_path / f"f{i}.toml", f'extends = "f{i - 1}.toml"\n')
        assert f"longer than {MAX_EXTENDS}" in _refused(tmp_path / "f1199.toml", "extends")

    def test_chain_within_the_limit_loads(self, tmp_path):
        _write(tmp_path / "f0.toml", "years = 7\n")
        for i in range(1, MAX_EXTENDS):
            _write(tmp_path / f"f{i}.toml", f'extends = "f{i - 1}.toml"\n')
        assert load_scenario(tmp_path / f"f{MAX_EXTENDS - 1}.toml").years == 7

    @pytest.mark.parametrize(
        "name",
        ["a\\u0000b", "x" * (MAX_NAME_CHARS + 205), "", "two\\nlines"],
        ids=["nul", "long", "empty", "newline"],
    )
    def test_names(self, tmp_path, name):
        path = _write(tmp_path / "s.toml", f'name = "{name}"\n')
        _refused(path, "name")


# --------------------------------------------------------------------------- memory


class TestMemory:
    def test_available_memory_is_positive(self):
        assert limits.available_memory_bytes() > 0

    def test_estimate_bounds_the_measured_peak(self, default_scenario):
        sc = default_scenario.with_overrides(
            {"landscape.width": 120, "landscape.height": 120, "landscape.n_farms": 100, "years": 3}
        )
        tracemalloc.start()
        try:
            LandUseModel(sc, rng=0).run_for(3)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        estimate = limits.model_memory_bytes(sc)
        assert peak <= estimate - limits.BASE_BYTES <= 2 * peak

    def test_estimate_of_a_landscape_file_uses_its_headers(self, tmp_path, default_scenario):
        path = tmp_path / "land.npz"
        np.savez(path, **_layers(shape=(30, 50)))
        sc = default_scenario.with_overrides({"landscape.source": str(path)})
        assert limits.model_memory_bytes(sc) == limits.memory_bytes(1500, 350, sc.years)
        bad = tmp_path / "bad.npz"
        bad.write_bytes(b"junk")
        sc = default_scenario.with_overrides({"landscape.source": str(bad)})
        assert limits.model_memory_bytes(sc) == limits.model_memory_bytes(default_scenario)

    def test_largest_grid_is_refused_before_it_is_built(self, tmp_path, monkeypatch):
        monkeypatch.setattr(limits, "available_memory_bytes", lambda: 8 * 1024**3)
        monkeypatch.setattr(
            "landsim.model.setup.generate_landscape",
            lambda *a, **k: pytest.fail("the landscape was built"),
        )
        path = _write(tmp_path / "huge.toml", "[landscape]\nwidth = 20000\nheight = 20000\n")
        with pytest.raises(ScenarioError) as excinfo:
            LandUseModel(load_scenario(path))
        msg = str(excinfo.value)
        assert msg.startswith(f"{path}: landscape.width, landscape.height: ")
        assert "GiB" in msg and "available" in msg

    def test_generator_checks_memory_for_any_caller(self, default_scenario, monkeypatch):
        # The batch engine's landscape cache calls the generator directly.
        monkeypatch.setattr(limits, "available_memory_bytes", lambda: 1024**2)
        with pytest.raises(ScenarioError) as excinfo:
            generate_landscape(default_scenario.landscape, np.random.default_rng(0), "s.toml")
        msg = str(excinfo.value)
        assert msg.startswith("s.toml: landscape.width, landscape.height: a 200 x 200 landscape")
        assert "1.0 MiB is available" in msg

    def test_cli_exit_status(self, tmp_path, monkeypatch, capsys):
        monkeypatch.setattr(limits, "available_memory_bytes", lambda: 8 * 1024**3)
        path = _write(tmp_path / "huge.toml", "[landscape]\nwidth = 20000\nheight = 20000\n")
        assert main(["run", str(path)]) == 2
        assert "needs about" in capsys.readouterr().err


# --------------------------------------------------------------------------- landscape files


@pytest.fixture(scope="module")
def good_npz(tmp_path_factory):
    sc = load_scenario().with_overrides(
        {
            "landscape.width": 30,
            "landscape.height": 30,
            "landscape.n_farms": 5,
            "landscape.lot_depth_km": 0.5,
            "landscape.reserve_fraction": 0.2,
        }
    )
    ls = generate_landscape(sc.landscape, np.random.default_rng(0))
    path = tmp_path_factory.mktemp("npz") / "good.npz"
    save_landscape(ls, path)
    return sc, path


def _layers(shape=(12, 12), **edit):
    layers = {
        "cover": np.zeros(shape, dtype=np.int8),
        "owner": np.zeros(shape, dtype=np.int32),
        "protected": np.zeros(shape, dtype=bool),
        "road": np.zeros(shape, dtype=bool),
    }
    layers.update(edit)
    return layers


def _refused_npz(path: Path, params, *keys: str) -> str:
    with pytest.raises(ScenarioError) as excinfo:
        load_landscape(path, params)
    msg = str(excinfo.value)
    assert str(path) in msg, msg
    for key in keys:
        assert f": {key}: " in msg, msg
    return msg


def _patch_headers(raw: bytes, flags: int | None = None, method: int | None = None) -> bytes:
    """Set the flag bits or the compression method in every zip member's local
    and central headers."""
    out = bytearray(raw)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = out.find(signature)
        assert start >= 0
        while start >= 0:
            if flags is not None:
                out[start + offset : start + offset + 2] = struct.pack("<H", flags)
            if method is not None:
                out[start + offset + 2 : start + offset + 4] = struct.pack("<H", method)
            start = out.find(signature, start + 4)
    return bytes(out)


class TestLandscapeFiles:
    def test_good_file_loads(self, good_npz):
        sc, path = good_npz
        assert load_landscape(path, sc.landscape).shape == (30, 30)

    def test_empty(self, tmp_path, good_npz):
        path = tmp_path / "empty.npz"
        path.write_bytes(b"")
        assert "empty" in _refused_npz(path, good_npz[0].landscape)

    def test_truncated(self, tmp_path, good_npz):
        raw = good_npz[1].read_bytes()
        for n in (len(raw) // 2, len(raw) - 30, 100):
            path = tmp_path / f"cut{n}.npz"
            path.write_bytes(raw[:n])
            _refused_npz(path, good_npz[0].landscape)

    def test_garbage(self, tmp_path, good_npz):
        path = tmp_path / "garbage.npz"
        path.write_bytes(np.random.default_rng(0).bytes(5000))
        _refused_npz(path, good_npz[0].landscape)

    def _stored(self, tmp_path, name="x.npz", **layers) -> Path:
        path = tmp_path / name
        np.savez(path, **_layers(**layers))
        return path

    def test_wrong_crc(self, tmp_path, good_npz):
        path = self._stored(tmp_path)
        raw = bytearray(path.read_bytes())
        # Flip a byte of the cover layer's data (stored: it is in the file as is).
        start = raw.index(b"\x93NUMPY") + 128
        raw[start + 5] ^= 0xFF
        path.write_bytes(bytes(raw))
        assert "CRC" in _refused_npz(path, good_npz[0].landscape, "cover")

    def test_encrypted_member(self, tmp_path, good_npz):
        path = self._stored(tmp_path)
        path.write_bytes(_patch_headers(path.read_bytes(), flags=0x1))
        assert "encrypted" in _refused_npz(path, good_npz[0].landscape, "cover")

    def test_unknown_compression(self, tmp_path, good_npz):
        path = self._stored(tmp_path)
        path.write_bytes(_patch_headers(path.read_bytes(), method=99))
        assert "method 99" in _refused_npz(path, good_npz[0].landscape, "cover")

    def test_bare_npy(self, tmp_path, good_npz):
        path = tmp_path / "bare.npz"
        with path.open("wb") as fh:
            np.save(fh, np.zeros((5, 5)))
        assert "single .npy" in _refused_npz(path, good_npz[0].landscape)

    def test_member_without_npy_magic(self, tmp_path, good_npz):
        path = tmp_path / "magic.npz"
        np.savez(path, **_layers())
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("age.npy", b"this is not an array")
        assert "npy" in _refused_npz(path, good_npz[0].landscape, "age")

    def test_pickled_objects_are_not_loaded(self, tmp_path, good_npz):
        obj = np.empty((12, 12), dtype=object)
        obj[:] = 0
        path = tmp_path / "obj.npz"
        np.savez(path, **_layers(cover=obj))
        _refused_npz(path, good_npz[0].landscape, "cover")

    @pytest.mark.parametrize(
        ("edit", "key"),
        [
            ({"cover": np.zeros((12, 12), dtype="datetime64[D]")}, "cover"),
            ({"road": np.zeros((12, 12), dtype="datetime64[s]")}, "road"),
            ({"fertility": np.zeros((12, 12), dtype=complex)}, "fertility"),
            ({"age": np.full((12, 12), np.nan)}, "age"),
            ({"age": np.full((12, 12), 2.5)}, "age"),
            ({"fertility": np.full((12, 12), np.nan)}, "fertility"),
            ({"protected": np.full((12, 12), 7)}, "protected"),
        ],
    )
    def test_layer_dtypes_and_values(self, tmp_path, good_npz, edit, key):
        path = tmp_path / "x.npz"
        np.savez(path, **_layers(**edit))
        _refused_npz(path, good_npz[0].landscape, key)

    def test_many_members(self, tmp_path, good_npz):
        path = tmp_path / "many.npz"
        np.savez(path, **{f"layer{i}": np.zeros(1) for i in range(200)})
        assert "holds 200 arrays" in _refused_npz(path, good_npz[0].landscape)

    def test_empty_layers(self, tmp_path, good_npz):
        path = tmp_path / "x.npz"
        np.savez(path, **_layers(shape=(0, 0)))
        _refused_npz(path, good_npz[0].landscape, "cover")

    def test_fifo_does_not_hang(self, tmp_path):
        fifo = tmp_path / "land.npz"
        os.mkfifo(fifo)
        scenario = _write(tmp_path / "s.toml", '[landscape]\nsource = "land.npz"\n')
        code = (
            f"import sys; from landsim.cli import main; sys.exit(main(['run', {str(scenario)!r}]))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        assert proc.returncode == 2, proc.stderr
        assert "regular file" in proc.stderr and "Traceback" not in proc.stderr

    def test_header_claiming_a_huge_layer(self, tmp_path, good_npz, monkeypatch):
        monkeypatch.setattr(limits, "available_memory_bytes", lambda: 8 * 1024**3)
        path = tmp_path / "claim.npz"
        with zipfile.ZipFile(path, "w") as zf:
            for name, dtype in (
                ("cover", "|i1"),
                ("owner", "<i4"),
                ("protected", "|b1"),
                ("road", "|b1"),
            ):
                with zf.open(f"{name}.npy", "w") as fh:
                    np.lib.format.write_array_header_1_0(
                        fh, {"descr": dtype, "fortran_order": False, "shape": (100_000, 100_000)}
                    )
        msg = _refused_npz(path, good_npz[0].landscape)
        assert "100000 x 100000" in msg and "needs about" in msg

    def test_small_file_inflating_to_huge_layers(self, tmp_path, good_npz, monkeypatch):
        monkeypatch.setattr(limits, "available_memory_bytes", lambda: 8 * 1024**3)
        n = 16000
        path = tmp_path / "bomb.npz"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, dtype in (
                ("cover", "|i1"),
                ("owner", "|i1"),
                ("protected", "|b1"),
                ("road", "|b1"),
            ):
                with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array_header_1_0(
                        fh, {"descr": dtype, "fortran_order": False, "shape": (n, n)}
                    )
                    chunk = bytes(1 << 22)
                    for _ in range(n * n // len(chunk)):
                        fh.write(chunk)
                    fh.write(bytes(n * n % len(chunk)))
        assert path.stat().st_size < 8 * 1024**2
        tracemalloc.start()
        try:
            msg = _refused_npz(path, good_npz[0].landscape)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert "16000 x 16000" in msg and "needs about" in msg
        assert peak < 50 * 1024**2  # nothing was inflated

    def test_model_reports_landscape_file_problems(self, tmp_path, good_npz):
        path = tmp_path / "x.npz"
        np.savez(path, **_layers(age=np.full((12, 12), np.nan)))
        sc = good_npz[0].with_overrides({"landscape.source": str(path)})
        with pytest.raises(ScenarioError, match=r"x\.npz: age: "):
            LandUseModel(sc)


def test_scenario_is_still_a_value_error():
    # Callers catching ValueError keep working.
    assert issubclass(ScenarioError, ValueError)
    assert isinstance(Scenario.model_config, dict)
