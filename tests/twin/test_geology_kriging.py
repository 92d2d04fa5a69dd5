"""#21 — seam surfaces by kriging with a covariance fitted by REML: the fit recovers a known
covariance, its closed-form leave-one-out is the refit, the faults' throw errors are carried
into the standard error and a wrong mapped throw is corrected by the data, picks at a
fault's trace go to their likelier side, the roof is fitted directly where that is better,
and on public well tops (real data read from a registry package) the model is no worse
than the thin-plate RBF peer, its 95 % band holding about 95 % of the held-out wells."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require
from twin.demo.truth import Fault
from twin.geology import BoreholeError
from twin.geology.boreholes import load_faults
from twin.geology.kriging import Kriged, correlation, fit_kriging
from twin.geology.surfaces import (Difference, _sides, build_seam_model, dropped, fit_surface,
                                   fit_tps, restore)
from twin.geology.validation import (PUBLIC_UNITS, cross_validate, public_horizons,
                                     public_unit, vertical_holes)


def _draw(family, length, sill, nugget, n=260, seed=3, extent=3000.0):
    """A seeded draw of the model: a plane trend plus a stationary field plus a nugget."""
    from scipy.spatial.distance import cdist
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, extent, (n, 2))
    c = sill * correlation(family, cdist(xy, xy) / length) + nugget * np.eye(n)
    z = 100 + 0.02 * xy[:, 0] - 0.01 * xy[:, 1] + np.linalg.cholesky(c) @ rng.normal(size=n)
    return xy, z


def test_reml_recovers_a_known_covariance():
    xy, z = _draw("matern52", 400.0, 25.0, 0.25)
    k = fit_kriging(xy, z, families=("matern52",))
    assert 400 / 1.5 < k.length < 400 * 1.5
    assert 25 / 2 < k.sill < 25 * 2 and k.nugget < 1.0
    # the family: a rough draw is told from a smooth one by the likelihood
    assert fit_kriging(*_draw("matern32", 300.0, 25.0, 0.01, seed=4)).family == "matern32"
    assert fit_kriging(*_draw("gaussian", 500.0, 25.0, 0.01, seed=5)).family == "gaussian"


def test_kriging_leave_one_out_in_closed_form_is_the_refit():
    """Dubrule's formula: the errors and their standard deviations of one inverse equal
    refitting without each point (the covariance held), throw-error blocks included."""
    xy, z = _draw("matern32", 300.0, 16.0, 0.1, n=40, seed=6)
    blocks = (xy[:, 0] > 1500)[:, None].astype(float)
    tau = np.array([1.5])

    def fn(x, y, zz):
        return (np.asarray(x) > 1500)[:, None]
    k = Kriged(xy, z, "matern32", 16.0, 300.0, 0.1, 0.0, tau, blocks, fn)
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        r = Kriged(xy[keep], z[keep], "matern32", 16.0, 300.0, 0.1, 0.0, tau, blocks[keep], fn)
        assert r(xy[i:i + 1, 0], xy[i:i + 1, 1])[0] - z[i] == pytest.approx(k.cv_errors[i],
                                                                             abs=1e-6)
        sd = np.sqrt(r.sigma(xy[i:i + 1, 0], xy[i:i + 1, 1])[0] ** 2 + 0.1)
        assert sd == pytest.approx(k.cv_sigma[i], rel=1e-6)


def test_a_wrong_mapped_throw_is_corrected_and_its_error_carried():
    """Picks restored with a throw 3 m too small sit 3 m low on the hanging wall (x > 1500):
    without the throw's error in the covariance the kriged surface smears that step over
    both sides; with it, the block's offset is estimated from its picks — and the standard
    error across the fault grows by the throw's uncertainty."""
    def truth(x, y):                     # the restored frame the wrong throw leaves
        return (100 + 0.02 * x + 3 * np.sin(x / 500) * np.cos(y / 600)
                - np.where(x > 1500, 3.0, 0.0))
    xy = np.random.default_rng(8).uniform(0, 3000, (120, 2))
    z = truth(xy[:, 0], xy[:, 1])
    hw = (xy[:, 0] > 1500)[:, None]

    def fn(x, y, zz):
        return (np.asarray(x) > 1500)[:, None]
    with_tau = fit_kriging(xy, z, tau=[2.0], data_blocks=hw, block_fn=fn,
                           families=("gaussian",))
    plain = fit_kriging(xy, z, families=("gaussian",))
    g = np.random.default_rng(9).uniform([1200, 300], [1800, 2700], (2000, 2))   # near it
    x, y = g[:, 0], g[:, 1]
    err = [np.sqrt(np.mean((m(x, y) - truth(x, y)) ** 2)) for m in (with_tau, plain)]
    assert err[0] < 0.5 * err[1]
    far = (np.array([2900.0]), np.array([1500.0]))
    assert with_tau.sigma(*far)[0] > plain.sigma(*far)[0]


def test_a_pick_at_the_trace_goes_to_its_likelier_side():
    """A plane seam, a fault of 10 m throw mapped 8 m off: the pick that lies between the
    mapped and the real trace is restored wrongly by 10 m — the fault's position error puts
    it on the side the other holes predict; a pick far from any trace is left as it is."""
    f = Fault("F", (0.0, 0.0, 0.0), 0.0, 89.0, 10.0, position_sigma_m=5.0)   # strike north
    gx, gy = np.meshgrid(np.arange(-825, 826, 150.0), np.arange(-900, 901, 150.0))
    xy = np.c_[gx.ravel(), gy.ravel()]
    xy = np.vstack([xy, [[-4.0, 40.0]]])                  # just west of the mapped trace …
    real_hw = xy[:, 0] > -8.0                              # … but east of the real one
    z_obs = 0.05 * xy[:, 1] - np.where(real_hw, 10.0, 0.0)
    z_obs[0] += 10.0                                        # a (far) pick off by 10 m
    x, y = xy[:, 0], xy[:, 1]
    zr = restore(z_obs, x, y, (f,))
    assert zr[-1] == pytest.approx(0.05 * 40 - 10.0)       # the mapped fault restores it wrongly
    floor = fit_tps(xy, zr)
    zr2, blocks = _sides(z_obs, zr, x, y, (f,), floor)
    assert zr2[-1] == pytest.approx(0.05 * 40) and blocks[-1, 0]
    assert zr2[0] == zr[0] and np.sum(zr2 != zr) == 1


def test_the_roof_is_fitted_directly_where_that_is_better():
    """A smooth roof over a floor that is rough (so is the thickness): floor + thickness
    adds both surfaces' errors; the direct roof is kept, its thickness roof − floor ≥ 0."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 2000, (80, 2))
    roof = 500 + 0.01 * xy[:, 0] + 5 * np.sin(xy[:, 1] / 400)
    floor = roof - 20 - rng.normal(0, 3.0, 80)
    model = build_seam_model(vertical_holes(xy, floor, roof))
    assert isinstance(model.thicknesses["U"], Difference)
    g = rng.uniform(200, 1800, (500, 2))
    assert (model.thickness("U", g[:, 0], g[:, 1]) >= 0).all()
    r = model.report()["seams"]["U"]
    assert r["roof_rmse_m"] < 0.5 * r["floor_rmse_m"]


def test_faults_csv_says_how_sure_the_map_is(tmp_path):
    p = tmp_path / "faults.csv"
    p.write_text("name,x,y,z,strike_deg,dip_deg,throw_m,throw_sigma_m,position_sigma_m\n"
                 "F1,0,0,0,30,70,5,0.5,\nF2,10,0,0,30,70,8,,25\n")
    f1, f2 = load_faults(p)
    assert (f1.throw_sigma_m, f1.position_sigma_m) == (0.5, None)
    assert (f2.throw_sigma_m, f2.position_sigma_m) == (None, 25.0)
    p.write_text("name,x,y,z,strike_deg,dip_deg,throw_m,throw_sigma_m\nF1,0,0,0,30,70,5,-1\n")
    with pytest.raises(BoreholeError, match="faults.csv:2: throw_sigma_m is negative"):
        load_faults(p)


def test_dropped_marks_the_blocks_as_fault_does():
    f = (Fault("A", (0.0, 0.0, 0.0), 0.0, 70.0, 5.0), Fault("B", (500.0, 0.0, 0.0), 0.0, 70.0, 3.0))
    x = np.array([-100.0, 200.0, 800.0])
    b = dropped(np.zeros(3), x, np.zeros(3), f)
    assert b.tolist() == [[False, False], [True, False], [True, True]]


def test_fit_surface_takes_the_better_by_leave_one_out():
    xy, z = _draw("gaussian", 600.0, 25.0, 0.01, n=60, seed=12)
    s = fit_surface(xy, z)
    assert s.cv_rmse <= fit_tps(xy, z).cv_rmse + 1e-12
    assert s.cv_rmse <= fit_kriging(xy, z).cv_rmse + 1e-12


@pytest.fixture(scope="module")
def horizons():
    try:
        h = public_horizons()
    except LookupError as exc:
        require(str(exc), "the public well tops (loopstructural's claudius.csv)")
    return h


def test_public_well_tops_are_read_from_the_package(horizons):
    assert set(horizons) == {"0", "60", "250", "330"}
    for v in horizons.values():
        assert v.shape[1] == 3 and len(v) > 5000
        assert np.ptp(v[:, 0]) > 3000 and np.ptp(v[:, 1]) > 4000      # 3.5 × 5.2 km
    # the sequence is layered: each horizon below the one above it, on average
    means = [horizons[h][:, 2].mean() for h in ("0", "60", "250", "330")]
    assert means == sorted(means, reverse=True)


def test_on_public_well_tops_the_model_holds_against_the_thin_plate_peer(horizons):
    """230 seeded wells of each unit; the floor against the horizon's other points inside
    the wells' hull (the truth between the wells): pooled over the three units, no worse
    than scipy's thin-plate RBF with smoothing 0 by more than 5 % (bench/bench_geology.py
    has the figures and the kriging peers), and the band holds 90–99 % in 10-fold CV."""
    from scipy.interpolate import RBFInterpolator
    ours, peer = [], []
    for floor, roof in PUBLIC_UNITS:
        u = public_unit(floor, roof, 230, horizons=horizons)
        m = build_seam_model(u.holes)
        x, y = u.truth_xy.T
        ours.append(m.floor("U", x, y) - u.truth_floor)
        p = u.holes.picks("U")["floor"]
        tps = RBFInterpolator(p[:, :2], p[:, 2], kernel="thin_plate_spline", smoothing=0.0)
        peer.append(tps(u.truth_xy) - u.truth_floor)
    rmse = [float(np.sqrt(np.mean(np.concatenate(e) ** 2))) for e in (ours, peer)]
    assert rmse[0] <= 1.05 * rmse[1]
    cv = cross_validate(public_unit("250", "60", 230, horizons=horizons).holes, k=10)
    assert 0.90 <= cv["floor_band_coverage"] <= 0.99
    assert cv["holes"] == 230 and cv["folds"] == 10
