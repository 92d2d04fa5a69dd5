"""Write constraints.txt from the environment this interpreter runs in (`make lock`).

    .venv/bin/python tools/lock.py [--out constraints.txt]

`pip freeze`, with what it writes for a wheel installed from a file or URL
(`open3d-cpu @ file:///tmp/…whl`) rewritten as the registry pin `open3d-cpu==0.20.0`, and
editable installs (the project itself) left out: a lock must name only versions that a new
machine can fetch from the registry. tools/check_install.py refuses any other line.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

HEADER = ("# The whole environment, pinned (make lock writes it: tools/lock.py). Registry "
          "versions only.\n")


def lock_lines(freeze_output: str) -> list[str]:
    """`name==version` lines for what ``pip freeze`` printed."""
    out = []
    for line in freeze_output.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-e", "--")):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            raise SystemExit(f"lock: cannot read {line!r} from pip freeze") from None
        if req.url:
            line = f"{req.name}=={md.version(req.name)}"
        out.append(line)
    return out                                  # (in pip's order)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path,
                   default=Path(__file__).resolve().parent.parent / "constraints.txt")
    args = p.parse_args(argv)
    freeze = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable",
                             "--disable-pip-version-check"], capture_output=True, text=True,
                            check=True).stdout
    lines = lock_lines(freeze)
    args.out.write_text(HEADER + "\n".join(lines) + "\n")
    print(f"{args.out}: {len(lines)} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
