"""MineTwin's asset store and pipeline: content-addressed GLBs with metadata, and the
validation of every GLB we write (Khronos glTF validator)."""

from .store import AssetNotFoundError, AssetStore, NotAStoreError
from .validation import GltfValidationError, ValidationReport, validate_files, validator_available

__all__ = ["AssetStore", "AssetNotFoundError", "NotAStoreError", "ValidationReport", "GltfValidationError",
           "validate_files", "validator_available"]
