"""The design sweep: roadways joined at junctions without gaps, walls across mouths or doubled
floors, with UVs in metres and creased normals, written as valid GLBs."""

from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest
import trimesh

from assets.sweep import SweepError, design_sweep, glb_from_mesh, join_roadways
from assets.validation import validate_files
from twin.model import Profile

RECT = Profile("rectangle", 4.0, 3.0).outline()
ARCH = Profile("semicircular_arch", 5.0, 4.0).outline()
MAIN = np.array([[0, 0, 0], [100, 0, 0]], float)
BRANCH = np.array([[50, 0, 0], [50, 60, 0]], float)      # a T: ends on the main's axis
CROSS = np.array([[20, -30, 0], [20, 30, 0]], float)     # an X: runs right through


@pytest.fixture(scope="module")
def network():
    return join_roadways({"main": (MAIN, RECT), "branch": (BRANCH, RECT), "cross": (CROSS, RECT)})


def _whole(parts) -> trimesh.Trimesh:
    whole = trimesh.util.concatenate(list(parts.values()))
    whole.merge_vertices(merge_tex=True, merge_norm=True)
    return whole


def _ray_scene(parts):
    scene = o3d.t.geometry.RaycastingScene()
    for m in parts.values():
        scene.add_triangles(np.asarray(m.vertices, np.float32), np.asarray(m.faces, np.uint32))
    return scene


def _cast(scene, origins, direction):
    rays = np.c_[origins, np.broadcast_to(direction, origins.shape)].astype(np.float32)
    t = o3d.core.Tensor(rays)
    return scene.count_intersections(t).numpy(), scene.cast_rays(t)["t_hit"].numpy()


def test_the_joined_network_is_one_closed_surface(network):
    whole = _whole(network)
    assert whole.is_watertight and whole.is_winding_consistent       # no gap along any seam
    # The volume is the union's: main + branch + cross − their overlaps (4×2×3 where the T's
    # end reaches the main's axis, 4×4×3 where the cross passes through the main).
    assert whole.volume == pytest.approx(100 * 12 + 60 * 12 + 60 * 12 - 24 - 48, rel=1e-9)


def test_each_roadway_keeps_only_its_wall_outside_the_others(network):
    def inside(points, line, half=2.0, height=3.0):
        (x0, y0, _), (x1, y1, _) = line
        lo = np.minimum([x0, y0], [x1, y1]) - [half if x0 == x1 else 0, half if y0 == y1 else 0]
        hi = np.maximum([x0, y0], [x1, y1]) + [half if x0 == x1 else 0, half if y0 == y1 else 0]
        eps = 1e-6
        return (np.all((points[:, :2] > lo + eps) & (points[:, :2] < hi - eps), axis=1)
                & (points[:, 2] > eps) & (points[:, 2] < height - eps))
    for rid, other in [("branch", MAIN), ("main", BRANCH), ("main", CROSS), ("cross", MAIN)]:
        assert not inside(network[rid].triangles_center, other).any(), (rid, "inside")
    # the T's end cap and its ribs inside the main are gone: inside the main the branch holds
    # at most floor and roof (coplanar with the main's, kept once — by either of them)
    b = network["branch"]
    in_main = b.triangles_center[:, 1] < 2.0 - 1e-6
    assert np.allclose(np.abs(b.face_normals[in_main, 2]), 1.0)
    assert network["main"].area < trimesh.creation.box((100, 4, 3)).area


def test_looking_down_a_junction_sees_one_floor_and_one_roof(network):
    scene = _ray_scene(network)
    # a grid over both junctions and plain roadway: every vertical ray crosses exactly two
    # surfaces (doubled floors would flicker — z-fighting — and count four)
    # (offsets off the round numbers: a ray through a shared edge would count it twice)
    xs, ys = np.meshgrid(np.linspace(46.113, 53.917, 9), np.linspace(-1.931, 5.07, 9))
    grid = np.c_[xs.ravel(), ys.ravel(), np.full(xs.size, 10.0)]
    xs, ys = np.meshgrid(np.linspace(18.113, 21.917, 5), np.linspace(-5.07, 5.03, 9))
    grid = np.vstack([grid, np.c_[xs.ravel(), ys.ravel(), np.full(xs.size, 10.0)]])
    counts, _ = _cast(scene, grid, [0, 0, -1])
    x, y = grid[:, 0], grid[:, 1]
    footprint = (np.abs(y) < 2) | ((np.abs(x - 50) < 2) & (y > 0)) | (np.abs(x - 20) < 2)
    assert footprint.sum() > 60 and (counts == np.where(footprint, 2, 0)).all()
    # From inside the branch, looking back into the main: the mouth is open, so the first wall
    # hit is the main's far rib (y = −2), 32 m away, not a wall across the mouth at y = +2.
    _, t = _cast(scene, np.array([[50, 30, 1.5]]), [0, -1, 0])
    assert t[0] == pytest.approx(32.0, abs=1e-4)
    # and along the main, through the cross: no wall in the way until the far end
    _, t = _cast(scene, np.array([[1, 0, 1.5]]), [1, 0, 0])
    assert t[0] == pytest.approx(99.0, abs=1e-4)


def test_uvs_are_metres_along_and_around(network):
    b = network["branch"]
    uv = b.visual.uv
    # u: chainage along the branch's own centerline (it starts on the main's axis, y = 0)
    assert np.allclose(uv[:, 0], np.clip(b.vertices[:, 1], 0, 60), atol=1e-6)
    # v: distance around the 4×3 section from the left floor corner; perimeter 14 m
    perimeter = 14.0
    assert uv[:, 1].min() >= -1e-9 and uv[:, 1].max() <= perimeter + 1e-9
    on_roof = np.isclose(b.vertices[:, 2], 3.0) & (b.vertices[:, 1] < 59.9)
    assert np.all((uv[on_roof, 1] >= 7 - 1e-6) & (uv[on_roof, 1] <= 11 + 1e-6))
    # no triangle wraps around the seam (its texture would smear across the whole section)
    wall = np.abs(b.face_normals[:, 1]) < 0.5             # ribs, floor and roof; not the cap
    fv = uv[b.faces[wall], 1]
    assert (fv.max(axis=1) - fv.min(axis=1)).max() < perimeter / 2


def test_normals_are_sharp_at_corners_and_smooth_over_an_arch():
    rect = design_sweep(MAIN, RECT)
    n = rect.vertex_normals
    # a rectangle: every vertex normal is a face normal (axis-aligned), none averaged
    assert np.allclose(np.abs(n).max(axis=1), 1.0)
    arch = design_sweep(MAIN, ARCH)
    crown = (arch.vertices[:, 2] > 2.6) & (np.abs(arch.vertex_normals[:, 0]) < 0.5)  # not caps
    nz = arch.vertex_normals[crown]
    # smooth: the normal turns with the arch instead of staying a face's
    radial = arch.vertices[crown][:, 1:] - [0, 1.5]
    radial /= np.linalg.norm(radial, axis=1)[:, None]
    assert np.allclose(nz[:, 1:], radial, atol=0.02)


def test_joined_glb_validates_with_normals_and_uvs(network, tmp_path):
    path = tmp_path / "branch.glb"
    path.write_bytes(glb_from_mesh(network["branch"], normals=True))
    assert validate_files([path])[0].errors == 0
    back = trimesh.load(path, force="mesh", process=False)
    assert back.visual.uv.shape == (len(back.vertices), 2)
    assert np.allclose(back.vertex_normals, network["branch"].vertex_normals, atol=1e-2)


def test_the_demo_network_joins_into_one_surface(demo_model):
    from twin.scene_build import _driven_lines
    lines = _driven_lines(demo_model)
    parts = join_roadways({rid: (line, demo_model.roadways[rid].profile.outline())
                           for rid, line in lines.items()})
    assert set(parts) == set(demo_model.roadways) and all(len(m.faces) for m in parts.values())
    whole = _whole(parts)
    assert whole.is_watertight and whole.is_winding_consistent


def test_bad_centerlines_are_named():
    with pytest.raises(SweepError, match="two distinct points"):
        join_roadways({"x": (np.array([[0, 0, 0], [0, 0, 0]], float), RECT)})
