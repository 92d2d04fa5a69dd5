"""Scan → roadway mesh against ground truth (assets.groundtruth's synthetic scanner), and
the deformation map finding a known convergence at the right place with the right size."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from assets.deviation import deviation, deviation_colors
from assets.groundtruth import polyline_at, synthetic_scan
from assets.scan import ScanError, ScanParams, reconstruct, surface_error
from assets.sweep import glb_from_mesh, sweep_profile

# A roadway with a bend and a slight grade: 5 m wide, a straight-walled arch 3.8 m high.
CENTERLINE = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [35.0, 10.0, 0.5]])
OUTLINE = np.array([[-2.5, 0], [2.5, 0], [2.5, 2.2]]
                   + [[2.5 * np.cos(a), 2.2 + 1.6 * np.sin(a)] for a in np.linspace(0.2, np.pi - 0.2, 8)]
                   + [[-2.5, 2.2]])
SIGMA = 0.01
BUMP = 0.3          # metres of convergence of the right rib, centred at chainage 10 m


@pytest.fixture(scope="module")
def design():
    return sweep_profile(polyline_at(CENTERLINE, 0.2), OUTLINE)


@pytest.fixture(scope="module")
def as_built(design):
    """The design with the right rib squeezed in by a smooth 0.3 m bump around x = 10 m."""
    built = design.copy()
    v = built.vertices.copy()
    rib = (v[:, 1] < -2.4) & (v[:, 0] < 20) & (v[:, 2] > 0.3)
    v[rib, 1] += BUMP * np.exp(-((v[rib, 0] - 10.0) / 1.0) ** 2)
    built.vertices = v
    return built


@pytest.fixture(scope="module")
def scanned(as_built):
    scan = synthetic_scan(as_built, CENTERLINE + [0, 0, 1.5], station_spacing=0.25,
                          rays_per_station=4000, noise_sigma=SIGMA, dropout=0.05, seed=1)
    return scan, reconstruct(scan.points, origins=scan.origins,
                             params=ScanParams(voxel=0.05, poisson_depth=9))


def test_the_synthetic_scanner_is_seeded_and_noisy_as_told(design):
    a = synthetic_scan(design, CENTERLINE + [0, 0, 1.5], station_spacing=2.0,
                       rays_per_station=2000, noise_sigma=SIGMA, dropout=0.1, seed=3)
    b = synthetic_scan(design, CENTERLINE + [0, 0, 1.5], station_spacing=2.0,
                       rays_per_station=2000, noise_sigma=SIGMA, dropout=0.1, seed=3)
    assert np.array_equal(a.points, b.points)
    # 10 % dropouts, and the rays that leave through the open ends return nothing
    assert 0.7 * len(a.stations) * 2000 < len(a.points) < 0.9 * len(a.stations) * 2000
    import open3d as o3d
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(np.asarray(design.vertices, np.float32), np.asarray(design.faces, np.uint32))
    d = scene.compute_distance(o3d.core.Tensor(a.points.astype(np.float32))).numpy()
    assert 0.7 * SIGMA < np.sqrt(np.mean(d ** 2)) < 1.3 * SIGMA


def test_an_occluder_casts_a_shadow_and_is_labelled(design):
    cabinet = trimesh.creation.box(extents=(1.0, 0.6, 1.5))
    cabinet.apply_translation((10.0, 2.2, 0.75))              # against the left rib
    scan = synthetic_scan(design, CENTERLINE + [0, 0, 1.5], station_spacing=0.5,
                          rays_per_station=3000, noise_sigma=SIGMA, occluders=[cabinet], seed=2)
    assert (~scan.on_truth).sum() > 100
    behind = (np.abs(scan.points[:, 0] - 10.0) < 0.3) & (scan.points[:, 1] > 2.4) & \
        (scan.points[:, 2] < 1.2) & scan.on_truth
    assert behind.sum() < 5                                   # the rib behind it is not seen


def test_scan_to_mesh_stays_within_the_stated_error_of_the_truth(scanned, as_built, gltf_validator, tmp_path):
    scan, result = scanned
    err = surface_error(result.mesh, as_built)
    assert err["mean"] <= 1.5 * SIGMA                          # the target
    assert err["p95"] <= 3 * SIGMA
    assert result.stats["triangles"] < result.stats["triangles_poisson"] / 2   # simplified
    # Poisson's invented caps are trimmed: the mesh stays within the roadway's bounds
    assert (result.mesh.bounds[0] > as_built.bounds[0] - 0.1).all()
    assert (result.mesh.bounds[1] < as_built.bounds[1] + 0.1).all()
    meta = result.metadata()
    assert meta["processing"]["voxel"] == 0.05 and meta["scan_stats"]["points_in"] == len(scan.points)
    path = tmp_path / "scan.glb"
    path.write_bytes(glb_from_mesh(result.mesh))
    assert gltf_validator([path])[0].errors == 0


def test_the_deformation_map_finds_the_convergence_where_it_is(scanned, design):
    _, result = scanned
    rep = deviation(result.mesh, design, CENTERLINE, tolerance=0.05, axis_height=2.0)
    assert abs(rep.max_convergence - BUMP) < 0.05
    assert abs(rep.max_at_chainage - 10.0) < 0.5
    main = max(rep.zones, key=lambda z: z["max_m"])
    assert main["from_m"] < 10.0 < main["to_m"] and main["to_m"] - main["from_m"] < 4.0
    assert rep.beyond_tolerance < 0.05                         # most of the roadway is as designed
    # A scan compared with itself (an earlier scan of the same roadway) shows nothing.
    same = deviation(result.mesh, result.mesh, CENTERLINE, tolerance=0.05, axis_height=2.0)
    assert same.max_convergence < 1e-3 and same.zones == []


def test_deviation_colours():
    rgba = deviation_colors(np.array([0.0, 0.04, 0.25, -0.25]), tolerance=0.05)
    assert rgba[0].tolist() == rgba[1].tolist() == [46, 204, 113, 255]   # within tolerance
    assert rgba[2].tolist() == [231, 76, 60, 255] and rgba[3].tolist() == [52, 152, 219, 255]


def test_bad_scans_get_clear_errors():
    with pytest.raises(ScanError, match="at least 100 points"):
        reconstruct(np.zeros((10, 3)), centerline=CENTERLINE)
    with pytest.raises(ScanError, match="NaN"):
        reconstruct(np.full((200, 3), np.nan), centerline=CENTERLINE)
    with pytest.raises(ScanError, match="inside of the roadway"):
        reconstruct(np.random.default_rng(0).random((200, 3)))


def test_small_holes_are_filled_and_the_open_ends_stay_open(design):
    from assets.scan import boundary_loops, fill_small_holes
    centres = design.triangles_center
    # two whole quads of the left rib, floor edge to springline: a 0.4 × 2.2 m window
    hole = (np.abs(centres[:, 0] - 10.1) < 0.2) & (centres[:, 1] > 2.4) & (centres[:, 2] < 2.2)
    punched = trimesh.Trimesh(design.vertices, design.faces[~hole], process=False)
    assert len(boundary_loops(punched)) == 3                 # two open ends and the hole
    assert len(fill_small_holes(punched, 1.5)[0].faces) == len(punched.faces)   # too wide
    filled, n = fill_small_holes(punched, 3.0)
    assert n == 1 and len(boundary_loops(filled)) == 2
    assert abs(filled.area - design.area) < 0.05 * (design.area - punched.area) + 0.2
