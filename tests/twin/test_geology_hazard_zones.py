"""Hazard zones on the demo mine, against its hidden gas and water: each zone holds the cells
it should, meshes are closed and valid, criteria come from REFERENCE.md or the mine's file,
and a fire event becomes a zone in the running scene."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from twin.demo.generator import AQUIFER_HEAD_Z, aquifer_top, gas_pressure
from twin.geology import BoreholeError
from twin.geology.exposure import build_geology
from twin.geology.hazard_zones import (Criteria, hazard_zones, load_hazard_data, overburden_zones,
                                  zone_mesh)
from twin.geology.meshes import GeologyScene, model_extent
from twin.demo.truth import TrueGeology


@pytest.fixture(scope="module")
def zones(demo_dir, demo_model):
    geo = build_geology(demo_dir, demo_model.mine.origin)
    data = load_hazard_data(demo_dir / "geology", demo_model.mine.origin)
    xy = np.vstack([geo.holes.picks(s)["floor"][:, :2] for s in geo.model.seams])
    found, (xs, ys) = hazard_zones(geo, data, model_extent(xy), 25.0)
    truth = TrueGeology.load(demo_dir / "truth" / "geology.toml")
    cx, cy = np.meshgrid((xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2)
    return {(z.kind, z.seam): z for z in found}, (xs, ys), (cx, cy), truth, data, geo


def test_the_demo_has_every_kind_and_the_criteria_of_reference(zones):
    found, *_, data, _ = zones
    assert {k for k, _ in found} == {"outburst", "gas", "water", "stress", "fire"}
    c = data.criteria
    assert (c.gas_pressure_MPa, c.inrush_normal, c.inrush_disturbed) == (0.74, 0.1, 0.06)


def test_the_outburst_zone_holds_the_high_gas_pressure(zones):
    found, _, (cx, cy), truth, *_ = zones
    z = found[("outburst", "M9")]
    p = gas_pressure(truth, "M9", cx, cy)
    inside_extent = (cx > -1400) & (cx < 1800) & (cy > -750) & (cy < 700)   # the boreholes'
    danger, safe = (p >= 0.74) & inside_extent, (p < 0.5) & inside_extent
    assert danger.sum() > 50
    # 48 boreholes ~400 m apart flatten 250 m anomalies: most of the danger, none of the safe
    assert z.mask[danger].mean() >= 0.7 and z.mask[safe].mean() <= 0.01
    assert z.props["criterion"] == "gas pressure (95 % upper bound) ≥ 0.74 MPa"


def test_the_water_zone_holds_the_high_inrush_coefficient(zones):
    found, _, (cx, cy), truth, data, geo = zones
    z = found[("water", "M9")]
    floor = truth.floor("M9", cx, cy)
    top = aquifer_top(truth, cx, cy)
    ts = (AQUIFER_HEAD_Z - top) * 0.00981 / (floor - top)
    near = np.zeros(cx.shape, bool)
    from twin.geology.hazard_zones import _fault_distance
    for f in truth.faults:
        near |= _fault_distance(f, cx, cy, floor) <= data.criteria.disturbed_within_m
    critical = np.where(near, 0.06, 0.1)
    inside_extent = (cx > -1400) & (cx < 1800) & (cy > -750) & (cy < 700)
    hit = (ts >= critical + 0.005) & inside_extent          # clear of the threshold
    clear = (ts < 0.75 * critical) & inside_extent
    assert hit.sum() > 50
    # on the safe side (Ts at its 95 % upper bound): all of it, hardly any clear ground
    assert z.mask[hit].mean() >= 0.9 and z.mask[clear].mean() <= 0.03


def test_stress_follows_the_faults_and_fire_the_sealed_area(zones):
    found, _, (cx, cy), truth, data, _ = zones
    stress = found[("stress", "M9")]
    floor = truth.floor("M9", cx, cy)
    from twin.geology.hazard_zones import _fault_distance
    # the true cut of each fault, near where it was mapped (a few degrees of strike error
    # carry a mapped trace tens of metres off a kilometre away)
    on_cut = np.zeros(cx.shape, bool)
    for f, mapped in zip(truth.faults, zones[-1].model.faults):
        near = np.hypot(cx - mapped.point[0], cy - mapped.point[1]) <= 250.0
        on_cut |= (_fault_distance(f, cx, cy, floor) <= 10.0) & near
    assert on_cut.sum() > 20 and stress.mask[on_cut].mean() >= 0.95
    # the pillar between 11901 and 11902 (y −430 … −470 local) is a stress zone
    pillar = (cx > 300) & (cx < 1300) & (cy < -435) & (cy > -465)
    assert stress.mask[pillar].all()
    fire = found[("fire", "M9")]
    sealed = (cx > -1200) & (cx < -800) & (cy > -700) & (cy < -520)
    assert (fire.mask == sealed).all() and fire.props["sealed_since"] == "2024-03-15"


def test_zone_meshes_are_closed_and_valid(zones, tmp_path, gltf_validator):
    from assets.sweep import glb_from_mesh
    found, (xs, ys), *_ = zones
    paths = []
    for (kind, seam), z in found.items():
        m = zone_mesh(z, xs, ys)
        assert m.is_watertight and m.volume > 0, (kind, seam)
        paths.append(tmp_path / f"{kind}-{seam}.glb")
        paths[-1].write_bytes(glb_from_mesh(m, (200, 60, 40)))
    assert all(r.errors == 0 for r in gltf_validator(paths))
    # the water zone spans the aquiclude: from the aquifer's top up to the seam floor
    w = found[("water", "M9")]
    assert (w.upper - w.lower).max() > 25.0


def test_zones_are_drawn_as_smooth_outlines_and_a_footprint_not_voxel_slabs(zones, tmp_path,
                                                                            gltf_validator):
    """#19.1: the scene shows a zone as its outline draped on the seam (no stair steps of the
    grid, nothing filling the inside) and, on demand, a thin footprint of the same area."""
    from matplotlib.path import Path as Polygon

    from assets.sweep import glb_from_mesh
    from twin.geology.hazard_zones import zone_footprint_mesh, zone_outline_mesh, zone_outlines
    found, (xs, ys), *_ = zones
    step = float(xs[1] - xs[0])
    cx, cy = np.meshgrid((xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2)
    paths = []
    for (kind, seam), z in found.items():
        lines = zone_outlines(z, xs, ys)
        assert lines and all(np.allclose(ln[0], ln[-1]) for ln in lines), (kind, seam)  # closed
        # smooth: the grid's stair steps (turns of 45° and 90° at every other vertex of the
        # cells' own outline, 16–43 % of them here) are gone — few turns over 30°, none square
        turns = []
        for ln in lines:
            d = np.diff(ln, axis=0)
            d = d[np.linalg.norm(d, axis=1) > 1e-6]
            cos = (d[1:] * d[:-1]).sum(1) / np.linalg.norm(d[1:], axis=1) / np.linalg.norm(d[:-1], axis=1)
            turns += list(np.degrees(np.arccos(np.clip(cos, -1, 1))))
        if z.mask.sum() > 4:
            assert max(turns) < 85 and np.mean(np.array(turns) > 30) < 0.12, (kind, seam)
        # the outline encloses the zone's cells (those well inside it) and not those well outside
        inside = np.zeros(z.mask.shape, bool)
        for ln in lines:
            inside ^= Polygon(ln).contains_points(np.c_[cx.ravel(), cy.ravel()]).reshape(z.mask.shape)
        from scipy.ndimage import binary_erosion
        core, far = binary_erosion(z.mask, iterations=2), ~binary_erosion(~z.mask, iterations=2)
        assert inside[core].all() and not inside[~far].any(), (kind, seam)
        outline, fill = zone_outline_mesh(z, xs, ys), zone_footprint_mesh(z, xs, ys)
        # draped on the seam: the outline's lowest point is the seam floor there, and it stands
        # a few metres at most — the volume of the zone is not drawn
        assert outline.bounds[1][2] - outline.bounds[0][2] < (z.lower.max() - z.lower.min()) + 10
        area = float(z.mask.sum()) * step * step
        assert 0.8 * area < fill.area < 1.2 * area, (kind, seam)            # the zone's area
        for name, m in (("outline", outline), ("fill", fill)):
            paths.append(tmp_path / f"{kind}-{seam}-{name}.glb")
            paths[-1].write_bytes(glb_from_mesh(m, (200, 60, 40)))
    assert all(r.errors == 0 for r in gltf_validator(paths))


def test_goaf_caving_heights_from_the_code_or_the_mine(demo_model, tmp_path):
    from assets import AssetStore
    from twin.scene_build import build_scene
    assert overburden_zones(1.8) == (6.55, 27.78)          # medium-hard overburden
    hard, soft = (overburden_zones(1.8, Criteria(overburden=k))[0] for k in ("hard", "soft"))
    assert hard > 6.55 > soft                               # a strong roof caves higher
    assert overburden_zones(1.8, Criteria(caved_zone_m=9.0, fractured_zone_m=30.0)) == (9.0, 30.0)
    s = build_scene(demo_model, AssetStore(tmp_path / "s"), criteria=Criteria(caved_zone_m=9.0))
    assert s.property("hazard/goaf-11901", "caved_zone_height_m") == 9.0
    assert s.property("hazard/goaf-11901", "mining_height_m") == 1.8
    # drawn as its footprint on the seam floor (#19.1: a caved-zone volume hid the face)
    bounds = s.get_field("hazard/goaf-11901", "mesh").bounds
    assert bounds[5] - bounds[2] < 0.5 and bounds[3] - bounds[0] > 100


def test_bad_hazard_files_are_named(tmp_path):
    (tmp_path / "hazards.toml").write_text("[criteria]\ngas_presure_MPa = 0.7\n")
    with pytest.raises(BoreholeError, match="unknown keys"):
        load_hazard_data(tmp_path)
    (tmp_path / "hazards.toml").write_text("[[sealed]]\nname = 'x'\noutline = [[0, 0], [1, 1]]\n")
    with pytest.raises(BoreholeError, match="at least 3 points"):
        load_hazard_data(tmp_path)
    (tmp_path / "hazards.toml").write_text("")
    (tmp_path / "water.csv").write_text("aquifer,x,y,top_z,head_z\nO2,1,2,deep,5\n")
    with pytest.raises(BoreholeError, match="water.csv:2"):
        load_hazard_data(tmp_path)


def test_zones_in_the_scene_and_a_fire_event_becomes_one(zones, demo_model, tmp_path):
    from assets import AssetStore
    from scene import Scene
    from twin.geology.service import GeologyService
    from twin.observation import Observation
    *_, data, geo = zones
    s = Scene()
    s.add("group/hazards")
    maker = GeologyScene(geo, demo_model, AssetStore(tmp_path / "st"), step=200.0,
                         hazards=data)
    ids = maker.add(s)
    assert {"hazard/outburst-M9", "hazard/water-M9", "hazard/stress-M9", "hazard/gas-M9",
            "hazard/fire-11701火区"} <= set(ids)
    assert s.tagged("hazard:water") >= {"hazard/water-M9"}
    assert s.property("hazard/water-M9", "aquifer") == "O2"
    s.commit()
    service = GeologyService(geo, maker, coalesce_s=0.05)
    try:
        service.offer([Observation("sim", "event", "fire", 1_000, 150.0, param="fire",
                                   place="roadway:main-track@600")])
        assert service.wait_idle(30)
        service.apply(s)
    finally:
        service.close()
    assert "hazard/fire-event-1" in s and "hazard:fire" in s.node("hazard/fire-event-1").tags
    at = demo_model.roadways["main-track"].point_at(600.0)
    b = s.get_field("hazard/fire-event-1", "mesh").bounds
    assert b[0] <= at[0] <= b[3] and b[1] <= at[1] <= b[4]
    assert trimesh.load(maker.store.path(s.get_field("hazard/fire-event-1", "mesh").asset),
                        force="mesh").is_watertight
