"""Every TOML file the project reads refuses a key nobody reads (a misspelt setting is an
error naming the file and the key, never silently ignored)."""

from __future__ import annotations

import pytest


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_a_scenario_with_a_misspelt_key(tmp_path):
    from twin.sim import load_scenario
    from twin.sim.scenarios import ScenarioError
    p = _write(tmp_path, "drill.toml", '[[event]]\ntype = "gas_outburst"\nat = "00:01:00"\n'
                                      'place = "face:11901"\nmagnitud = 2.0\n')
    with pytest.raises(ScenarioError, match=r"drill.toml: event 1: unknown keys \['magnitud'\]"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match=r"unknown keys \['events'\]"):
        load_scenario(_write(tmp_path, "d2.toml", "[[events]]\n"))


def test_a_rule_table_with_a_misspelt_table(tmp_path):
    from safety import RulesError
    from safety.rules import load_rule_table
    with pytest.raises(RulesError, match=r"rules.toml: unknown keys \['thresholds'\]"):
        load_rule_table(_write(tmp_path, "rules.toml", '[[thresholds]]\nquantity = "ch4"\n'))


def test_destinations_with_a_misspelt_table(tmp_path):
    from uplink.outbox import load_destinations
    with pytest.raises(ValueError, match=r"dest.toml: unknown keys \['destinations'\]"):
        load_destinations(_write(tmp_path, "dest.toml", '[[destinations]]\nname = "p"\n'))


def test_hazards_with_a_misspelt_table(tmp_path):
    from twin.geology import BoreholeError
    from twin.geology.hazard_zones import load_hazard_data
    _write(tmp_path, "hazards.toml", '[[pilar]]\nname = "shaft pillar"\n')
    with pytest.raises(BoreholeError, match=r"hazards.toml: unknown keys \['pilar'\]"):
        load_hazard_data(tmp_path, (0.0, 0.0, 0.0))


def test_views_with_a_misspelt_key(tmp_path):
    from minetwin.cli.render import load_views
    _write(tmp_path, "views.toml", '[[view]]\nname = "a"\nposition = [0, 0, 10]\n'
                                   'target = [1, 1, 0]\nfov_deg = 40\n')
    with pytest.raises(ValueError, match=r"views.toml: view 1: unknown keys \['fov_deg'\]"):
        load_views(tmp_path, (0.0, 0.0, 0.0))


def test_an_unreadable_file_names_itself(tmp_path):
    from twin.tomlfile import read_toml
    with pytest.raises(KeyError, match="bad.toml"):
        read_toml(_write(tmp_path, "bad.toml", "a = [1,"), KeyError)
    with pytest.raises(KeyError, match="missing.toml"):
        read_toml(tmp_path / "missing.toml", KeyError)
