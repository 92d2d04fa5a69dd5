"""The rooms' public surfaces are pinned: a change here is a deliberate API change. Each
room's ``__all__`` is what the other rooms use of it (code outside a room imports from
the room's package, never from its modules: see the test below the table)."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SURFACES = {
    "scene": [
        "Backoff", "Changeset", "DuplicateNodeError", "FieldChange", "GltfError", "HierarchyError",
        "LocalError", "MeshRef", "Node", "NodeNotFoundError", "PropertyType",
        "PropertyTypeError", "PropertyValue", "ROOT", "ROOT_ID", "RemoteError", "Replica",
        "ReplicaError", "Scene", "SceneError", "UncommittedChangesError", "Visual",
        "WireDecoder", "WireEncoder", "WireError", "export_glb", "import_gltf",
        "lazy_exports", "merge", "objarray", "scenes_equal"],
    "assets": [
        "AssetImportError", "AssetNotFoundError", "AssetStore", "GltfValidationError",
        "KINDS", "MeshData", "NotAStoreError", "PointCloud", "ScanError", "ScanParams",
        "SectionError", "ValidationReport", "add_to_scene", "apply_pose", "box_glb",
        "build_equipment", "centerline_from_scan", "cross_section", "drum_arm_values",
        "fit_similarity", "glb_from_mesh", "import_file", "join_roadways", "marker_glb",
        "mesh_bounds", "read_control_points", "reconstruct", "store_mesh",
        "support_extension", "validate_files", "validator_available"],
    "twin": [
        "BoreholeError", "CARD_STATE", "Exposures", "FeedQueue", "GeologyScene",
        "GeologyService", "HAZARD_COLORS", "IncompleteFileError", "KEY_FIELDS", "KEY_HEADER_TIME",
        "KEY_INVALID", "KEY_SYSTEMS", "KINDS", "LAYER_COLORS", "MineDataError", "MineModel",
        "Network", "Observation", "ObservationGate", "POINT_STATE", "Problem", "Profile",
        "RECORD_FIELDS", "REFUSAL_REASONS",
        "Simulator", "TUBE_BUNDLE_SILENCE_S", "TickLoop", "TickStats", "TrueGeology", "UploadFile",
        "UploadFormatError", "build_geology", "build_scene", "check_keys",
        "equipment_model", "fmt_reading", "format_relations", "generate_demo", "load_exposures", "load_hazard_data",
        "load_mine", "load_scenario", "mine_plan", "open_sqlite", "parse_file_name", "parse_time",
        "parse_upload", "quantity_of", "quantity_table", "read_toml", "roadway_role", "section", "section_mesh",
        "section_png", "short_name", "switch_states", "write_exposures"],
    "live_bindings": [
        "BindingError", "Bucket", "DeclarativeBindings", "DefaultBindings", "DialectError",
        "FileOutcome", "History", "IngestDialect", "MqttFeed", "RedisStreamFeed", "SENSOR_COLORS", "Sample",
        "UploadWatcher", "decode_upload", "load_bindings"],
    "safety": [
        "Alarm", "AlarmBook", "AlarmError", "AreaRisk", "DangerBook", "DangerConfigError",
        "DangerError", "DangerRefused", "GroundPressure", "HazardRules", "LEVELS",
        "Limits", "Linkage", "Register", "ReportedAlarms", "RiskEngine", "RiskError", "Rule",
        "RuleEngine", "RuleEvent", "RulesError", "TubeBundle", "Watchdogs", "check_register",
        "check_workflow", "default_points", "format_register", "load_register", "load_workflow", "resolve_rules", "rule_table"],
    "streaming": [
        "FramePublisher", "Gateway", "HttpApi", "PROTOCOL_VERSION", "ProtocolError",
        "ROLES", "Recorder", "SUBPROTOCOL", "StreamClient", "StreamServer"],
    "render": [
        "CameraSpec", "PandaMirror", "RenderError", "Renderer", "ReportError",
        "SnapshotWorker", "build_report", "draw_labels", "node_picture", "overview",
        "plan_hidden", "plan_picture", "plan_region", "run_wall", "shift_window", "thumbnail", "write_pdf"],
    "uplink": [
        "DEFINITIONS", "Dialect", "GasExportError", "GasFormat", "LiveRecords", "Outbox",
        "REALTIME", "STANDARD", "SecurityError", "UplinkError", "UplinkService",
        "check_gas", "export_once", "gas_records", "hold_back", "load_key",
        "load_sm2_key", "render_gas", "write_atomic"],
    "minetwin": [
        "Config", "ConfigError", "load_config"],
}


@pytest.mark.parametrize("room", sorted(SURFACES))
def test_public_surface(room):
    module = importlib.import_module(room)
    assert sorted(module.__all__) == SURFACES[room]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_code_outside_a_room_imports_from_its_package():
    """``from twin import load_mine``, not ``from twin.minefolder import load_mine``: a room's
    modules are its own business (the composition root and tests may reach further; a name
    spelt like one of the room's modules stays there, or the module would shadow it)."""
    deep = []
    for room in SURFACES:
        if room == "minetwin":
            continue
        for path in sorted((ROOT / room).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    target = node.module.split(".")[0]
                    if target in SURFACES and target != room and "." in node.module:
                        stems = {p.stem for p in (ROOT / target).rglob("*.py")}
                        if not any(a.name in stems for a in node.names):
                            deep.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                        f"from {node.module}")
    assert deep == []
