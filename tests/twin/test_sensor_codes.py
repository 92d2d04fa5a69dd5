"""#20.3 The sensor type codes as data (twin/sensor_codes.toml, REFERENCE.md §3a): every code
of the reference's full table, with Chinese and English names and units; the toxic-gas rule
rows bound to their codes; switch points read as states; a mine folder's own rows."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from safety import resolve_rules
from twin import load_mine, switch_states
from twin import sensor_types as st

#: The reference's full table (§3a): analog 0001–0053, switches 1001–1015, cumulative
#: 3001–3005, outstation and power state 4001/4002.
CODES = ([f"{i:04d}" for i in range(1, 54)] + [f"{1000 + i}" for i in range(1, 16)]
         + [f"{3000 + i}" for i in range(1, 6)] + ["4001", "4002"])


@pytest.fixture
def shipped_table():
    """Restores the process's table after a test puts a mine folder's rows over it."""
    saved = dict(st.QUANTITIES)
    yield
    st.QUANTITIES.clear()
    st.QUANTITIES.update(saved)


def test_every_code_of_the_reference_is_in_the_table_with_names_and_units():
    assert sorted(st.QUANTITIES) == sorted(CODES)
    for code, q in st.QUANTITIES.items():
        assert q.name and q.en and q.key, code
        kinds = {"0": "analog", "1": "switch", "3": "cumulative", "4": "multistate"}
        assert q.kind == kinds[code[0]], code
        assert (q.states is not None) == (q.kind == "switch"), code
    want = {"0009": ("h2s", "ppm", "硫化氢"), "0041": ("no2", "ppm", "二氧化氮"),
            "0042": ("so2", "ppm", "二氧化硫"), "0044": ("nh3", "ppm", "氨气"),
            "0045": ("n2", "%", "氮气"), "0001": ("ch4", "%", "甲烷"),
            "0004": ("co", "ppm", "一氧化碳"), "0020": ("roof_separation", "mm", "顶板离层")}
    for code, (key, unit, zh) in want.items():
        q = st.quantity_of(code)
        assert (q.key, q.unit, q.name) == (key, unit, zh), code
    # the states the reference gives: air door 0 closed / 1 open, air direction 0 reversed /
    # 1 normal, breaker 0 off / 1 restored, feeder 0 no voltage / 1 voltage
    assert st.quantity_of("1002").states_en == ("closed", "open")
    assert st.quantity_of("1006").states_en == ("reversed", "normal")
    assert st.quantity_of("1009").states == ("断电", "复电")
    assert st.quantity_of("1011").states == ("无电", "有电")
    assert st.quantity_of("1002").states == ("关", "开")
    # what the reference leaves open is marked as a default, and a code it has not is generic
    assert st.quantity_of("1001").sure is False and st.quantity_of("0041").sure is True
    assert st.quantity_of("0099").key == "value_0099" and st.quantity_of("0099").sure is False
    assert st.short_name(st.quantity_of("0041")) == "NO2"


def test_the_toxic_gas_rules_bind_to_their_codes(demo_model):
    """A NO2, SO2, H2S or NH3 point gets its rule-table row (REFERENCE §2: 2.5, 5, 6.6, 40
    ppm): before the table had their codes they were generic values without a rule."""
    sensor = next(iter(demo_model.sensors.values()))
    sensors = {f"T{code}": dataclasses.replace(sensor, point_code=f"T{code}", type_code=code,
                                              thresholds=type(sensor.thresholds)(),
                                              roadway=None, category=None)
               for code in ("0041", "0042", "0009", "0044")}
    model = dataclasses.replace(demo_model, sensors=sensors)
    rules = resolve_rules(model)
    got = {code: (r[0].quantity, r[0].alarm) for code, r in rules.items()}
    assert got == {"T0041": ("no2", 2.5), "T0042": ("so2", 5.0), "T0009": ("h2s", 6.6),
                   "T0044": ("nh3", 40.0)}


def test_a_switch_reads_as_its_state(demo_model, tmp_path):
    from assets import AssetStore
    from live_bindings import DefaultBindings
    from twin import Observation, build_scene
    door = next(s for s in demo_model.sensors.values() if s.type_code == "1002")
    assert switch_states(door) == (door.off_text, door.on_text) == ("关", "开")   # its CDDY
    bare = dataclasses.replace(door, on_text="", off_text="")
    assert switch_states(bare) == ("关", "开")                                   # the table's
    assert switch_states(next(s for s in demo_model.sensors.values()
                              if s.type_code == "0001")) is None
    scene = build_scene(demo_model, AssetStore(tmp_path / "store"))
    b = DefaultBindings(demo_model, scene)
    scene.commit()
    for value, word in ((False, "关"), (True, "开")):
        b.apply([Observation("test", "point", door.point_code, 1_000, value)])
        scene.commit()
        assert scene.visual(f"sensor/{door.point_code}").label.endswith(f"风门 {word}")


def test_a_mine_folder_puts_its_own_rows_over_the_table(demo_dir, tmp_path, shipped_table):
    mine = tmp_path / "mine"
    shutil.copytree(demo_dir, mine)
    (mine / "sensor_codes.toml").write_text(
        'multistate = [{ code = "3006", key = "outstation", zh = "分站", en = "outstation" }]\n'
        'switch = [{ code = "1001", key = "local_fan", zh = "局扇", en = "local fan", '
        'states = ["关", "开"] }]\n', encoding="utf-8")
    load_mine(mine)
    assert st.quantity_of("3006").key == "outstation"
    assert st.quantity_of("1001").name == "局扇" and st.quantity_of("1001").states == ("关", "开")
    (mine / "sensor_codes.toml").write_text('switch = [{ code = "1001", key = "x", zh = "x" }]\n')
    from twin import MineDataError
    with pytest.raises(MineDataError, match="a switch says what 0 and 1 mean"):
        load_mine(mine)
    (mine / "sensor_codes.toml").write_text('gauges = []\n')
    with pytest.raises(MineDataError, match="unknown table 'gauges'"):
        load_mine(mine)
