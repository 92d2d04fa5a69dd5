"""The gas-geology export: one row per coal sample with its lab values as the mine recorded
them, burial depth from the collar, thickness and dip from the model (against the demo's
hidden truth), the combined outburst indices D and K with REFERENCE.md §4's critical values;
a province's own table format (columns, titles, separator, encoding) is followed exactly."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from uplink.gas import (GAS_FIELDS, GasExportError, GasFormat, check_gas, gas_records,
                             render_gas)


@pytest.fixture(scope="module")
def demo_geo(demo_dir, demo_model):
    from twin.geology.exposure import build_geology
    m = demo_model.mine
    return build_geology(demo_dir, m.origin, m.time_zone)


def test_every_coal_sample_with_its_values_depth_thickness_dip_and_indices(demo_dir, demo_model,
                                                                         demo_geo):
    from twin.demo.truth import TrueGeology
    m = demo_model.mine
    recs = gas_records(demo_geo.holes, demo_geo.model, m.origin)
    rows = list(csv.DictReader(open(demo_dir / "geology" / "intervals.csv", encoding="utf-8")))
    coal = [r for r in rows if r["seam"] and r["gas_content_m3_t"]]
    assert len(recs) == len(coal) > 100
    collars = {r["hole_id"]: r for r in csv.DictReader(
        open(demo_dir / "geology" / "collars.csv", encoding="utf-8"))}
    truth = TrueGeology.load(demo_dir / "truth" / "geology.toml")
    ox, oy, oz = m.origin
    dips, thick = [], []
    for rec, row in zip(recs, coal):
        assert (rec["hole"], rec["seam"]) == (row["hole_id"], row["seam"])
        for k in ("gas_content_m3_t", "gas_pressure_MPa", "firmness_f", "desorption_dP_mmHg",
                  "permeability_m2_MPa2d"):
            assert rec[k] == float(row[k])                        # as the mine recorded it
        assert rec["burial_depth_m"] == pytest.approx(float(collars[row["hole_id"]]["z"]) - rec["z"])
        x, y = rec["x"] - ox, rec["y"] - oy
        thick.append(rec["thickness_m"] - float(truth.thickness(rec["seam"], x, y)))
        d = 5.0
        gx = (truth.floor(rec["seam"], x + d, y) - truth.floor(rec["seam"], x - d, y)) / (2 * d)
        gy = (truth.floor(rec["seam"], x, y + d) - truth.floor(rec["seam"], x, y - d)) / (2 * d)
        dips.append(rec["dip_deg"] - float(np.degrees(np.arctan(np.hypot(gx, gy)))))
        f, p, dp, h = (float(row["firmness_f"]), float(row["gas_pressure_MPa"]),
                       float(row["desorption_dP_mmHg"]), rec["burial_depth_m"])
        assert rec["D"] == pytest.approx((0.0075 * h / f - 3) * (p - 0.74))
        assert rec["K"] == pytest.approx(dp / f)
        assert rec["outburst_danger"] == int(rec["D"] >= 0.25 or rec["K"] >= 15)
    # the model at the samples: thickness within a few cm (the boreholes themselves), dip
    # within a degree or two of the truth (away from faults)
    assert np.sqrt(np.mean(np.square(thick))) < 0.1
    assert np.median(np.abs(dips)) < 1.5
    danger = [r for r in recs if r["outburst_danger"]]
    assert 0 < len(danger) < len(recs)
    anthracite = gas_records(demo_geo.holes, demo_geo.model, m.origin, "anthracite")
    assert sum(r["outburst_danger"] for r in anthracite) <= len(danger)     # K 20, not 15


def test_the_default_table_reads_back_with_chinese_titles(demo_model, demo_geo):
    from datetime import datetime
    m = demo_model.mine
    recs = gas_records(demo_geo.holes, demo_geo.model, m.origin)
    name, data = render_gas(recs, m.code, m.name, datetime(2026, 11, 2, 9, 0))
    assert name == "520522000001_WSDZ_20261102090000.csv" and data.startswith(b"\xef\xbb\xbf")
    assert check_gas(name, data, GasFormat(), len(recs)) == []
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["矿井编码", "矿井名称", "煤层", "钻孔编号"]
    assert len(rows[0]) == len(GAS_FIELDS) and "综合指标D" in rows[0]
    first = dict(zip(rows[0], rows[1]))
    assert first["矿井编码"] == m.code and first["钻孔编号"] == recs[0]["hole"]
    assert float(first["瓦斯压力(MPa)"]) == pytest.approx(recs[0]["gas_pressure_MPa"])
    assert first["数据时间"] == "2026-11-02 09:00:00"
    assert check_gas(name, data.replace(b",", b";", 40), GasFormat(), len(recs))  # damaged


def test_a_provinces_format_is_followed_exactly(demo_model, demo_geo, tmp_path):
    from datetime import datetime
    (tmp_path / "f.toml").write_text(
        'name_pattern = "WS_{mine}_{time}.txt"\ndelimiter = "\\t"\nencoding = "gb18030"\n'
        'bom = false\ncoal_rank = "anthracite"\n'
        '[[column]]\nfield = "hole"\ntitle = "孔号"\n'
        '[[column]]\nfield = "gas_pressure_MPa"\ntitle = "P"\ndecimals = 1\n'
        '[[column]]\nfield = "K"\ntitle = "K值"\n'
        '[[column]]\nfield = "outburst_danger"\ntitle = "危险"\n', encoding="utf-8")
    fmt = GasFormat.load(tmp_path / "f.toml")
    m = demo_model.mine
    recs = gas_records(demo_geo.holes, demo_geo.model, m.origin, fmt.coal_rank)
    name, data = render_gas(recs, m.code, m.name, datetime(2026, 11, 2, 9, 0), fmt)
    assert name == "WS_520522000001_20261102090000.txt"
    text = data.decode("gb18030")
    lines = text.split("\r\n")
    assert lines[0] == "孔号\tP\tK值\t危险"
    hole, p, k, danger = lines[1].split("\t")
    assert hole == recs[0]["hole"] and p == f"{recs[0]['gas_pressure_MPa']:.1f}"
    assert danger == str(int(recs[0]["K"] >= 20 or recs[0]["D"] >= 0.25))
    assert check_gas(name, data, fmt, len(recs)) == []
    for text, msg in (('[[column]]\nfield = "colour"\n', "field must be one of"),
                      ('coal_rank = "lignite"\n', "anthracite"),
                      ('delimiter = ";;"\n', "one character"), ('encodng = "x"\n', "unknown keys")):
        (tmp_path / "bad.toml").write_text(text)
        with pytest.raises(GasExportError, match=msg):
            GasFormat.load(tmp_path / "bad.toml")


def test_uplink_gas_command(demo_dir, tmp_path):
    r = subprocess.run([sys.executable, "-m", "minetwin.cli", "uplink", "gas", "--mine",
                        str(demo_dir), "--out", str(tmp_path)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["held"] == [] and out["records"] > 100 and 0 < out["outburst_danger"] < out["records"]
    assert (tmp_path / out["written"][0]).exists()
