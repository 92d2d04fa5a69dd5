"""The mine: its model (``model.py``) loaded from a mine folder (``minefolder.py``), the
roadway network, the KJ upload-file format (``kj_format.py``), observations and the feed
queue, their one validation (``validation.py``), the geological model and hazard zones (``geology/``), the simulator (``sim/``) and the
demo mine (``demo/``), the mine's scene (``scene_build.py``), the mine in plan (``plan.py``) and
the tick loop (``tick.py``).
The wiring of all rooms into one process is ``minetwin/``.
"""

from .tick import TickLoop, TickStats
from scene import lazy_exports

__all__ = ["TickLoop", "TickStats", "generate_demo", "TrueGeology", "BoreholeError", "Exposures",
           "build_geology", "load_exposures", "write_exposures", "load_hazard_data",
           "GeologyScene", "section", "section_mesh", "section_png", "GeologyService",
           "IncompleteFileError", "Problem", "RECORD_FIELDS", "UploadFile", "UploadFormatError",
           "KEY_SYSTEMS", "KEY_FIELDS", "KEY_HEADER_TIME", "KEY_INVALID", "TUBE_BUNDLE_SILENCE_S",
           "parse_file_name", "parse_time", "parse_upload", "MineDataError", "load_mine",
           "MineModel", "Profile", "Network", "CARD_STATE", "FeedQueue", "KINDS", "Observation",
           "POINT_STATE", "build_scene", "equipment_model", "quantity_of", "Simulator",
           "load_scenario", "open_sqlite", "check_keys", "read_toml", "ObservationGate",
           "REFUSAL_REASONS", "fmt_reading", "short_name", "roadway_role", "LAYER_COLORS",
           "HAZARD_COLORS", "mine_plan", "quantity_table", "switch_states", "format_relations"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "generate_demo": "demo.generator",
    "TrueGeology": "demo.truth",
    "BoreholeError": "geology",
    "Exposures": "geology.exposure",
    "build_geology": "geology.exposure",
    "load_exposures": "geology.exposure",
    "write_exposures": "geology.exposure",
    "load_hazard_data": "geology.hazard_zones",
    "GeologyScene": "geology.meshes",
    "section": "geology.sections",
    "section_mesh": "geology.sections",
    "section_png": "geology.sections",
    "GeologyService": "geology.service",
    "IncompleteFileError": "kj_format",
    "Problem": "kj_format",
    "RECORD_FIELDS": "kj_format",
    "KEY_SYSTEMS": "kj_format",
    "KEY_FIELDS": "kj_format",
    "KEY_HEADER_TIME": "kj_format",
    "KEY_INVALID": "kj_format",
    "UploadFile": "kj_format",
    "UploadFormatError": "kj_format",
    "parse_file_name": "kj_format",
    "parse_time": "kj_format",
    "parse_upload": "kj_format",
    "MineDataError": "minefolder",
    "load_mine": "minefolder",
    "MineModel": "model",
    "format_relations": "model",
    "TUBE_BUNDLE_SILENCE_S": "model",
    "Profile": "model",
    "Network": "network",
    "CARD_STATE": "observation",
    "FeedQueue": "observation",
    "KINDS": "observation",
    "Observation": "observation",
    "POINT_STATE": "observation",
    "build_scene": "scene_build",
    "equipment_model": "scene_build",
    "roadway_role": "scene_build",
    "LAYER_COLORS": "scene_build",
    "HAZARD_COLORS": "geology.meshes",
    "mine_plan": "plan",
    "quantity_of": "sensor_types",
    "fmt_reading": "sensor_types",
    "short_name": "sensor_types",
    "quantity_table": "sensor_types",
    "switch_states": "sensor_types",
    "Simulator": "sim",
    "load_scenario": "sim",
    "open_sqlite": "storage",
    "check_keys": "tomlfile",
    "read_toml": "tomlfile",
    "ObservationGate": "validation",
    "REFUSAL_REASONS": "validation",
}

__getattr__ = lazy_exports(__name__, _LAZY)
