"""The one validation of observations (twin/validation.py): a face's and a heading's own
reports pass; an unknown face is refused like unknown equipment."""

from twin import Observation, ObservationGate

T = 1_800_000_000_000


def test_workings_reports_pass_the_gate_and_unknown_ones_do_not(demo_model):
    gate = ObservationGate(demo_model, clock=lambda: T)
    ok = [Observation("sim", "equipment", "face:11901", T, 318.0, "m", param="advanced_m"),
          Observation("sim", "equipment", "heading:11902-intake-heading", T, 390.0, "m",
                      param="advanced_m"),
          Observation("sim", "equipment", "face:11901", T, 1.0e5, "m²", param="goaf_area_m2")]
    bad = [Observation("sim", "equipment", "face:99999", T, 1.0, "m", param="advanced_m"),
           Observation("sim", "equipment", "heading:11901", T, 1.0, "m", param="advanced_m")]
    assert gate.check(ok + bad) == ok
    assert [gate.reason(o, T) for o in bad] == ["unknown equipment"] * 2
