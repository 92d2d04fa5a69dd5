"""MineTwin's asset store and pipeline: content-addressed GLBs with metadata, and the
validation of every GLB we write (Khronos glTF validator)."""

from .store import AssetNotFoundError, AssetStore, NotAStoreError
from .validation import GltfValidationError, ValidationReport, validate_files, validator_available
from scene import lazy_exports

__all__ = ["AssetStore", "AssetNotFoundError", "NotAStoreError", "ValidationReport",
           "GltfValidationError", "validate_files", "validator_available", "KINDS",
           "add_to_scene", "apply_pose", "build_equipment", "drum_arm_values",
           "support_extension", "fit_similarity", "read_control_points", "AssetImportError",
           "MeshData", "PointCloud", "import_file", "store_mesh", "ScanError", "ScanParams",
           "reconstruct", "SectionError", "centerline_from_scan", "cross_section", "box_glb",
           "glb_from_mesh", "join_roadways", "marker_glb", "mesh_bounds"]

#: What other rooms use from inside this one, loaded when first asked for (so importing
#: the room stays cheap): name -> the module that defines it.
_LAZY = {
    "KINDS": "equipment",
    "add_to_scene": "equipment",
    "apply_pose": "equipment",
    "build_equipment": "equipment",
    "drum_arm_values": "equipment",
    "support_extension": "equipment",
    "fit_similarity": "georef",
    "read_control_points": "georef",
    "AssetImportError": "importers",
    "MeshData": "importers",
    "PointCloud": "importers",
    "import_file": "importers",
    "store_mesh": "pipeline",
    "ScanError": "scan",
    "ScanParams": "scan",
    "reconstruct": "scan",
    "SectionError": "scan_sections",
    "centerline_from_scan": "scan_sections",
    "cross_section": "scan_sections",
    "box_glb": "sweep",
    "glb_from_mesh": "sweep",
    "join_roadways": "sweep",
    "marker_glb": "sweep",
    "mesh_bounds": "sweep",
}

__getattr__ = lazy_exports(__name__, _LAZY)
