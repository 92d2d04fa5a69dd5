"""The Khronos glTF validator (npm ``gltf-validator``), run through ``node``.

Every GLB MineTwin writes must validate with zero errors. The validator is a JavaScript
package installed by ``make setup`` into ``node_modules/``; ``tools/gltf-validate.mjs`` runs
it over files and prints one JSON report per line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ValidationReport", "GltfValidationError", "validate_files", "validator_available",
           "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = REPO_ROOT / "tools" / "gltf-validate.mjs"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    file: str
    errors: int
    warnings: int
    infos: int
    messages: tuple[dict, ...]

    @property
    def ok(self) -> bool:
        return self.errors == 0


class GltfValidationError(RuntimeError):
    """The validator could not be run (node or the npm package is missing)."""


def validator_available() -> str | None:
    """None when the validator can run, else what is missing."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (REPO_ROOT / "node_modules" / "gltf-validator").is_dir():
        return "the npm package gltf-validator is not installed (run `make setup`)"
    return None


def validate_files(paths: list[str | Path]) -> list[ValidationReport]:
    missing = validator_available()
    if missing:
        raise GltfValidationError(missing)
    proc = subprocess.run(["node", str(_SCRIPT), *map(str, paths)], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=300)
    if proc.returncode == 2:
        raise GltfValidationError(proc.stderr.strip())
    reports = []
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        reports.append(ValidationReport(r["file"], r["errors"], r["warnings"], r["infos"],
                                        tuple(r["messages"])))
    return reports
