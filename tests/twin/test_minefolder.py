"""Loading mine folders: a generated mine loads; broken folders give precise errors."""

import shutil

import numpy as np
import pytest

from twin.minefolder import MineDataError, load_mine
from twin.model import Profile, Roadway


@pytest.fixture
def mine(tmp_path, demo_dir):
    dst = tmp_path / "mine"
    shutil.copytree(demo_dir, dst)
    return dst


def upload(folder, ftype):
    return next((folder / "upload").glob(f"*_{ftype}_*.txt"))


def edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def problems(folder):
    with pytest.raises(MineDataError) as exc:
        load_mine(folder)
    return [str(p) for p in exc.value.problems]


def test_the_demo_mine_loads_with_everything_linked(demo_model):
    m = demo_model
    assert all(s.outstation in m.outstations for s in m.sensors.values())
    assert all(r.position is not None for r in m.readers.values())
    assert all(a.code.startswith(m.mine.code) for a in m.areas.values())
    assert all(p.card.startswith(m.mine.code) for p in m.people.values())
    # Local coordinates: the origin was subtracted.
    assert max(abs(r.centerline).max() for r in m.roadways.values()) < 5000


@pytest.mark.parametrize("break_it, expected", [
    (lambda d: edit(d / "mine.toml", 'code = "520522000001"', 'code = "52052200"'),
     "mine.toml, field 'mine.code': '52052200' is not 12 digits"),
    (lambda d: edit(d / "mine.toml", 'gas_class = "high"', 'gas_class = "medium"'),
     "field 'mine.gas_class': 'medium' is not one of low, high, outburst"),
    (lambda d: edit(d / "roadways.csv", ",main_intake,", ",main_intak,"),
     "roadways.csv: record 3, field 'type': 'main_intak' is not one of"),
    (lambda d: edit(d / "roadways.csv", ",4.80,3.80,", ",-4.80,3.80,"),
     "roadways.csv: record 2, field 'width_m': must be > 0"),
    (lambda d: edit(d / "centerlines.csv", "main-belt-incline,0,", "nowhere,0,"),
     "centerlines.csv: record 2, field 'roadway': 'nowhere' is not in roadways.csv"),
    (lambda d: edit(d / "centerlines.csv", "main-belt-incline,1,35511960.000",
                    "main-belt-incline,1,abc"),
     "centerlines.csv: record 3, field 'x': not a number: 'abc'"),
    (lambda d: edit(d / "sensors.csv", "002A03,11901-return,12.0", "002A03,11901-return,99999"),
     "sensors.csv: record 4, field 'chainage_m': 99999 m is outside roadway '11901-return'"),
    (lambda d: edit(upload(d, "CDDY"), "002A01;01;002;", "002A01;01;099;"),
     "record 2, field 'outstation code': '099' is not in the FZDY file"),
    (lambda d: edit(upload(d, "CDDY"), ";MN;%;4.00;0.00;1.00;", ";MN;%;4.00;0.00;x;"),
     "record 2, field 'upper alarm': not a number: 'x'"),
    (lambda d: edit(upload(d, "RYXX"), "52052200000100001;", "52052299900100001;"),
     "field 'card code': '52052299900100001' does not start with '520522000001'"),
    (lambda d: edit(upload(d, "RYXX"), ";1;0~", ";yes;0~"),
     "field 'is leader': 'yes' is not 0 or 1"),
    (lambda d: edit(upload(d, "RYQY"), "重点区域", "核心区域"),
     "field 'area type': '核心区域' is not one of"),
    (lambda d: edit(upload(d, "FZDY"), "~\n||", "~\n"),
     "no '||' terminator"),
    (lambda d: upload(d, "RYJZ").unlink(), "upload/: no RYJZ definition file"),
    (lambda d: shutil.copy(upload(d, "FZDY"), d / "upload" / "520522000009_FZDY_20261103080000.txt"),
     "belongs to mine 520522000009, this mine is 520522000001"),
    (lambda d: (d / "roadways.csv").unlink(), "roadways.csv: missing file"),
])
def test_broken_mine_folders_name_the_file_record_and_field(mine, break_it, expected):
    break_it(mine)
    found = problems(mine)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once(mine):
    edit(mine / "mine.toml", 'gas_class = "high"', 'gas_class = "x"')
    edit(mine / "roadways.csv", ",main_intake,", ",x,")
    assert len(problems(mine)) >= 2


def test_the_latest_definition_file_wins(mine):
    old = upload(mine, "RYXX")
    text = old.read_text(encoding="utf-8")
    newer = mine / "upload" / old.name.replace("20261102080000", "20261103080000")
    newer.write_text(text.replace("2026-11-02 08:00:00~", "2026-11-03 08:00:00~", 1)
                     .replace(";1;0~", ";1;1~", 1), encoding="utf-8")
    m = load_mine(mine)
    assert next(iter(m.people.values())).special_worker is True


def test_roadway_geometry():
    r = Roadway("r", "r", "gateroad", Profile("rectangle", 4, 3),
                np.array([[0.0, 0, 0], [30, 0, 0], [30, 40, 0]]))
    assert r.length_m == 70
    np.testing.assert_allclose(r.point_at(50), [30, 20, 0])
    np.testing.assert_allclose(r.point_at(500), [30, 40, 0])     # clamped
    assert r.project(np.array([31.0, 10, 0])) == pytest.approx((40.0, 1.0))
    for kind in ("rectangle", "trapezoid", "semicircular_arch", "three_centred_arch"):
        o = Profile(kind, 4.0, 3.5).outline()
        assert o[:, 0].min() == pytest.approx(-2) and o[:, 1].max() == pytest.approx(3.5)


def test_readers_in_either_ryjz_layout_and_their_coordinates(mine, demo_model):
    """#20 RYJZ as REFERENCE.md §3a gives it (code; name; x; y; z; location — what the demo
    writes) places a reader that readers.csv does not; the older §3 form (code; name; flags;
    location) is still read."""
    csv = mine / "readers.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    dropped = lines[1].split(",")[0]
    csv.write_text("\n".join(lines[:1] + lines[2:]) + "\n", encoding="utf-8")
    m = load_mine(mine)
    r = m.readers[dropped]
    assert r.roadway is None and np.allclose(r.position, demo_model.readers[dropped].position,
                                             atol=0.01)
    f = upload(mine, "RYJZ")
    recs = f.read_text(encoding="utf-8").split("~")
    old = ";".join(recs[1].strip().split(";")[:2] + ["0", recs[1].split(";")[-1]])
    f.write_text("~".join([recs[0], "\n" + old] + recs[2:]), encoding="utf-8")
    m = load_mine(mine)
    assert m.readers[dropped].position is None and m.readers[dropped].location == \
        demo_model.readers[dropped].location
