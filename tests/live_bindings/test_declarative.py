"""Declarative bindings: conversions, value ranges → visuals, badges from safe expressions,
and errors that name the file, the entry and the key."""

import pytest

from assets import AssetStore
from live_bindings.declarative import BindingError, compile_expression, load_bindings
from twin.observation import Observation
from twin.scene_build import build_scene

GOOD = """
[[binding]]
source = "point:002A08"                 # air velocity in the 11901 return, m/s
field = "air_velocity_m_min"
unit = "m/min"
scale = 60.0

[[binding.visual]]
below = 15.0
color = "#E74C3C"
label = "风速低 {value:.0f} {unit}"
[[binding.visual]]
from = 15.0
color = "#2ECC71"
label = "{value:.0f} {unit}"

[[badge]]
node = "face/11901"
when = 'point("002A02") >= 1.0 and equipment("shearer-11901", "running")'
label = "瓦斯超限 采煤机未停"
color = "#FF0000"
"""


@pytest.fixture
def scene(demo_model, tmp_path):
    return build_scene(demo_model, AssetStore(tmp_path))


def obs(kind, key, value, param=None):
    return Observation("t", kind, key, 0, value, param=param)


def test_conversion_ranges_and_badges(scene, tmp_path):
    f = tmp_path / "bindings.toml"
    f.write_text(GOOD, encoding="utf-8")
    b = load_bindings(f, scene)
    b.apply([obs("point", "002A08", 0.2)])
    assert scene.properties("sensor/002A08")["air_velocity_m_min"].value == pytest.approx(12.0)
    assert scene.properties("sensor/002A08")["air_velocity_m_min"].unit == "m/min"
    assert scene.visual("sensor/002A08").color == 0xE74C3C
    assert scene.visual("sensor/002A08").label == "风速低 12 m/min"
    b.apply([obs("point", "002A08", 1.3)])
    assert scene.visual("sensor/002A08").label == "78 m/min"
    b.apply([obs("point", "002A02", 1.2)])                       # gas, but the shearer unknown
    assert scene.property("face/11901", "badge") in (None, "")
    b.apply([obs("equipment", "shearer-11901", True, "running")])
    assert scene.property("face/11901", "badge") == "瓦斯超限 采煤机未停"
    assert scene.visual("face/11901").emissive == 0xFF0000
    b.apply([obs("equipment", "shearer-11901", False, "running")])
    assert scene.property("face/11901", "badge") == ""


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('x')", "is not allowed"),
    ("point('a').real", "is not allowed"),
    ("point(1) > 2", "is not allowed"),
    ("open('f')", "is not allowed"),
    ("point('a') >", "not an expression"),
])
def test_expressions_are_sandboxed(text, message):
    with pytest.raises(BindingError, match=message):
        compile_expression(text, "f: badge 1.when")


def test_expressions_evaluate():
    p = compile_expression('not point("a") < 1 or card("c") == True', "x")
    assert p({"point:a": 2.0}) and p({"point:a": 0.5, "card:c": True})
    assert not p({"point:a": 0.5}) and not p({})


@pytest.mark.parametrize("text, message", [
    ('[[binding]]\nsource = "pt:1"\n', "binding 1.source"),
    ('[[binding]]\nsource = "point:002A08"\nnode = "sensor/nope"\n', "binding 1.node"),
    ('[[binding]]\nsource = "point:002A08"\ncolour = 1\n', "binding 1: unknown keys ['colour']"),
    ('[[binding]]\nsource = "point:002A08"\n[[binding.visual]]\ncolor = "red"\n',
     "binding 1.visual 1.color"),
    ('[[badge]]\nnode = "face/11901"\nwhen = "1 +"\n', "badge 1.when"),
    ('[[mapping]]\n', "unknown keys ['mapping'] (expected badge, binding)"),
])
def test_errors_name_the_entry_and_key(scene, tmp_path, text, message):
    f = tmp_path / "bindings.toml"
    f.write_text(text)
    with pytest.raises(BindingError) as exc:
        load_bindings(f, scene)
    assert message in str(exc.value) and str(f) in str(exc.value)
