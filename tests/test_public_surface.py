"""The rooms' public surfaces are pinned: a change here is a deliberate API change."""

import assets
import scene
import twin


def test_scene_public_surface():
    assert sorted(scene.__all__) == sorted([
        "Scene", "Node", "Visual", "PropertyValue", "PropertyType", "MeshRef", "ROOT",
        "ROOT_ID", "Changeset", "FieldChange", "merge", "Replica", "scenes_equal",
        "SceneError", "LocalError", "RemoteError", "NodeNotFoundError", "DuplicateNodeError",
        "HierarchyError", "PropertyTypeError", "UncommittedChangesError", "ReplicaError",
        "GltfError", "WireError"])
    for name in scene.__all__:
        assert hasattr(scene, name)


def test_twin_and_assets_public_surface():
    assert sorted(twin.__all__) == ["TickLoop", "TickStats"]
    assert sorted(assets.__all__) == sorted([
        "AssetStore", "AssetNotFoundError", "NotAStoreError", "ValidationReport",
        "GltfValidationError", "validate_files", "validator_available"])


def test_live_bindings_safety_and_streaming_public_surface():
    import live_bindings
    import safety
    import streaming
    assert sorted(live_bindings.__all__) == sorted([
        "DefaultBindings", "SENSOR_COLORS", "UploadWatcher", "FileOutcome", "History",
        "Sample", "Bucket", "DeclarativeBindings", "BindingError", "load_bindings"])
    assert sorted(safety.__all__) == sorted([
        "Rule", "RuleEvent", "RuleEngine", "RulesError", "resolve_rules", "Alarm", "AlarmBook",
        "AlarmError", "Watchdogs", "Limits", "HazardRules"])
    assert sorted(streaming.__all__) == sorted(["PROTOCOL_VERSION", "ROLES", "SUBPROTOCOL",
                                                "ProtocolError"])
    for module in (live_bindings, safety, streaming):
        for name in module.__all__:
            assert hasattr(module, name)


def test_minetwin_uplink_and_render_public_surface():
    import minetwin
    import render
    import uplink
    assert sorted(minetwin.__all__) == ["Config", "ConfigError", "load_config"]
    assert sorted(uplink.__all__) == sorted(["Dialect", "UplinkError", "export_once", "Outbox",
                                             "UplinkService"])
    assert sorted(render.__all__) == ["PandaMirror", "RenderError", "Renderer"]
    for module in (minetwin, uplink, render):
        for name in module.__all__:
            assert hasattr(module, name)
