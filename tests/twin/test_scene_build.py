"""The mine's scene: a node per thing, at its place, tagged by layer, exportable."""

import numpy as np
import pytest

from assets import AssetStore
from scene import Replica, Scene
from scene.gltf import export_glb, import_gltf
from scene.spatial import SpatialIndex
from twin.scene_build import build_scene


@pytest.fixture(scope="module")
def built(demo_model, tmp_path_factory):
    store = AssetStore(tmp_path_factory.mktemp("assets"))
    scene = build_scene(demo_model, store)
    scene.commit(1)
    return demo_model, store, scene


def test_every_thing_has_a_node_with_a_stable_id_and_tags(built):
    m, _, s = built
    assert s.tagged("roadway") == {f"roadway/{r}" for r in m.roadways}
    assert s.tagged("sensor") == {f"sensor/{c}" for c in m.sensors}
    assert s.tagged("reader") == {f"reader/{c}" for c in m.readers}
    assert s.tagged("person") == {f"person/{c}" for c in m.people}
    assert s.tagged("equipment") == {f"equipment/{e}" for e in m.equipment}
    assert s.tagged("area") == {f"area/{a}" for a in m.areas}
    assert "face/11901" in s and "hazard/goaf-11901" in s
    assert s.parent_of("sensor/002A01") == "group/sensors"


def test_each_working_knows_the_area_it_works_in(built):
    """A face's or heading's headcount is its personnel-location area's: the area that holds
    its roadways (the face's intake and return, the heading's roadway)."""
    m, _, s = built
    for f in m.longwalls.values():
        code = s.property(f"face/{f.id}", "area")
        assert {f.intake_roadway, f.return_roadway} <= set(m.areas[code].roadways)
    for h in m.headings.values():
        assert h.roadway in m.areas[s.property(f"heading/{h.id}", "area")].roadways
    assert m.working_area("no-such-working") is None


def test_sensors_sit_at_their_real_positions_with_typed_thresholds(built):
    m, _, s = built
    for code, sensor in m.sensors.items():
        np.testing.assert_allclose(s.world_position(f"sensor/{code}"), sensor.position)
    props = s.properties("sensor/002A01")
    assert props["ch4_alarm_upper"].value == 1.0 and props["ch4_alarm_upper"].unit == "%"
    assert props["category"].value == "T0"
    assert s.schema["co_alarm_upper"].unit == "ppm"
    # a tube-bundle gas point says whose sample it is (the KPI strip leaves it out of the
    # district's air); the other points do not
    tube = m.tube_bundle["TB03"]
    assert s.property(f"sensor/{tube.gases['ch4']}", "tube_bundle") == tube.name
    assert s.property("sensor/002A01", "tube_bundle") is None


def test_roadway_meshes_enclose_their_centerlines(built):
    m, _, s = built
    idx = SpatialIndex(s)
    for rid, r in m.roadways.items():
        lo, hi = idx.bounds(f"roadway/{rid}")
        line = r.centerline
        heading = [h for h in m.headings.values() if h.roadway == rid]
        if heading:   # only the driven part of a heading exists
            line = line[r.chainages <= heading[0].advanced_m]
        assert (line >= lo - 1e-6).all() and (line <= hi + 1e-6).all(), rid
    # A point on a gateroad finds that roadway.
    p = m.roadways["11901-return"].point_at(300.0) + np.array([0, 0, 1.0])
    assert "roadway/11901-return" in idx.within(p, 0.1)


def test_the_whole_mine_exports_as_one_valid_glb(built, tmp_path, gltf_validator):
    _, store, s = built
    out = tmp_path / "mine.glb"
    export_glb(s, store=store, path=out)
    report = gltf_validator([out])[0]
    assert report.errors == 0 and report.warnings == 0
    again = Scene()
    import_gltf(again, out, store=store)
    again.commit(1)
    assert list(again) == list(s)
    np.testing.assert_allclose(again.world_position("equipment/shearer-11901"),
                               s.world_position("equipment/shearer-11901"), atol=1e-4)


def test_a_replica_of_the_mine_equals_it(built):
    _, _, s = built
    r = Replica()
    r.apply(s.snapshot())
    assert r == s
