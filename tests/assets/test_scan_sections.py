"""A roadway's centerline and cross-sections measured from its (synthetic) scan match the
design it was scanned from."""

from __future__ import annotations

import numpy as np
import pytest

from assets.groundtruth import polyline_at, synthetic_scan
from assets.scan_sections import (SectionError, centerline_from_scan, cross_section,
                             project_on_polyline)
from assets.sweep import sweep_profile
from tests.assets.test_scan import CENTERLINE, OUTLINE


@pytest.fixture(scope="module")
def scan():
    design = sweep_profile(polyline_at(CENTERLINE, 0.2), OUTLINE)
    return synthetic_scan(design, CENTERLINE + [0, 0, 1.5], station_spacing=0.25,
                          rays_per_station=4000, noise_sigma=0.01, seed=1)


def test_the_centerline_follows_the_design_through_the_bend(scan):
    line = centerline_from_scan(scan.points, spacing=1.0)
    near, ch = project_on_polyline(line, CENTERLINE)
    horiz = np.linalg.norm((line - near)[:, :2], axis=1)
    assert np.quantile(horiz, 0.95) < 0.05 and horiz.max() < 0.2   # the max: the mitred bend
    assert np.abs(line[:, 2] - near[:, 2]).max() < 0.03             # on the floor
    assert ch.min() < 3.0 and ch.max() > 34.0                        # end to end


def test_cross_sections_measure_the_design_profile(scan):
    line = centerline_from_scan(scan.points, spacing=1.0)
    x, y = OUTLINE[:, 0], OUTLINE[:, 1]
    design_area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    for chainage in (5.0, 12.0, 28.0):
        s = cross_section(scan.points, line, chainage)
        assert abs(s.width - 5.0) < 0.06 and abs(s.height - 3.8) < 0.03, chainage
        assert abs(s.area - design_area) / design_area < 0.02
    with pytest.raises(SectionError, match="outside the centerline"):
        cross_section(scan.points, line, 500.0)
    with pytest.raises(SectionError, match="at least 1000 points"):
        centerline_from_scan(scan.points[:10])
