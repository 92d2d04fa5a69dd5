"""Can a fresh machine install what the project declares, and load it? (`make test` runs this
before the suite; it takes a few seconds.)

    python tools/check_install.py [--root DIR] [--no-libraries]

1. **Pins**: `constraints.txt` pins registry versions only (`name==version`), and no
   requirement in `pyproject.toml` names a path or URL. A wheel installed from disk makes
   `pip freeze` write `name @ file:///tmp/…whl`: a file that exists on one machine only.
   (`make lock` writes constraints.txt through tools/lock.py, which rewrites such lines.)
2. **Libraries**: every extension module of every installed distribution the project depends
   on (its dependencies, their dependencies, …) is imported in a subprocess, and every other
   shared object of theirs (plugins such as Panda3D's renderers, bundled libraries) is read
   by `ldd`. A library that is not found on the machine nor bundled in the environment is a
   failure naming the module and the library, and the row of `SYSTEM_LIBS` in
   `tools/setup-system.sh` that makes it install the library.

Exit status: 0 all well; 1 a problem (one line each on stderr); 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.metadata as md
import json
import re
import subprocess
import sys
import sysconfig
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
TAGGED_SUFFIXES = tuple(s for s in EXTENSION_SUFFIXES if s != ".so")
#: "libusb-1.0.so.0: cannot open shared object file" (dlopen's words, glibc)
MISSING_SO = re.compile(r"([\w.+-]+\.so[\w.]*): cannot open shared object file")
#: "\tlibusb-1.0.so.0 => not found" (ldd's words)
LDD_NOT_FOUND = re.compile(r"^\s*(\S+) => not found", re.M)
#: What one subprocess does with the module names on its standard input.
IMPORTER = """
import importlib, json, sys
for name in sys.stdin.read().split():
    try:
        importlib.import_module(name)
    except BaseException as exc:   # (SystemExit too: report it, go on)
        print(json.dumps({"module": name, "error": f"{type(exc).__name__}: {exc}"}),
              flush=True)
"""


# ---------------------------------------------------------------------------------- pins

def pin_problems(constraints: Path, pyproject: Path) -> list[str]:
    """Lines of constraints.txt that are not `name==version`, and requirements of
    pyproject.toml that name a path or URL."""
    problems = []
    for n, raw in enumerate(constraints.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{constraints.name}:{n}"
        if line.startswith("-"):
            problems.append(f"{where}: {line!r}: an option, not a pin — constraints.txt holds "
                            "`name==version` lines only")
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            problems.append(f"{where}: {line!r} is not a requirement ({exc})")
            continue
        if req.url:
            problems.append(f"{where}: {req.name} is pinned to {req.url!r}, a file or URL that "
                            f"a new machine does not have — write `{req.name}==VERSION`")
        elif len(req.specifier) != 1 or next(iter(req.specifier)).operator != "==":
            problems.append(f"{where}: {line!r} does not pin one version — write "
                            f"`{req.name}==VERSION`")
    for where, text in _pyproject_requirements(pyproject):
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"{pyproject.name} {where}: {text!r} is not a requirement ({exc})")
            continue
        if req.url:
            problems.append(f"{pyproject.name} {where}: {req.name} names {req.url!r}, a file or "
                            f"URL that a new machine does not have — pin `{req.name}==VERSION`")
    return problems


def _pyproject_requirements(pyproject: Path) -> list[tuple[str, str]]:
    data = tomllib.loads(pyproject.read_text())
    project = data.get("project", {})
    out = [("[project] dependencies", r) for r in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        out += [(f"[project.optional-dependencies] {extra}", r) for r in reqs]
    out += [("[build-system] requires", r) for r in data.get("build-system", {}).get("requires", [])]
    return out


# ----------------------------------------------------------------------------- libraries

def dependency_closure(pyproject: Path) -> tuple[list[md.Distribution], list[str]]:
    """The installed distributions the project depends on (transitively; every extra of the
    project that is installed), and a problem for each direct dependency not installed."""
    env = default_environment()
    problems, seen, found = [], set(), []
    project = tomllib.loads(pyproject.read_text()).get("project", {})
    todo = [(Requirement(r), True) for r in project.get("dependencies", [])]
    todo += [(Requirement(r), False) for reqs in project.get("optional-dependencies", {}).values()
             for r in reqs]
    while todo:
        req, required = todo.pop()
        key = canonicalize_name(req.name)
        if key in seen:
            continue
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            if required:
                problems.append(f"{req.name} is declared in pyproject.toml but not installed "
                                "(make setup installs it)")
            continue
        seen.add(key)
        found.append(dist)
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or sub.marker.evaluate({**env, "extra": ""}):
                todo.append((sub, required))
    return found, problems


def system_libraries(script: Path) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """soname → (Debian package, who loads it) of the `need` rows of ``SYSTEM_LIBS`` in
    tools/setup-system.sh (the one table: the script installs from it); the `optional` ones."""
    text = script.read_text()
    start = text.index('SYSTEM_LIBS="\n') + len('SYSTEM_LIBS="\n')
    need, optional = {}, set()
    for raw in text[start:text.index('\n"', start)].splitlines():
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        kind, soname, package, *who = line
        if kind == "need":
            need[soname] = (package, " ".join(who))
        elif kind == "optional":
            optional.add(soname)
        else:
            raise SystemExit(f"{script}: {raw!r}: the kind is `need` or `optional`")
    return need, optional


def _shared_objects(dist: md.Distribution) -> tuple[list[str], list[Path]]:
    """(importable extension modules, other shared objects) of a distribution. A module in a
    folder that is not a package (Panda3D's `deploy_libs`: copies of the standard library's
    modules for the apps its deploy tool freezes) is never imported here: it is left out."""
    modules, others = [], []
    for f in dist.files or []:
        name = str(f)
        path = Path(dist.locate_file(f))
        # (`.so` alone is a module suffix too: `libfoo.so` is taken for a library)
        if name.endswith(EXTENSION_SUFFIXES) and not (f.name.startswith("lib") and
                                                      name.endswith(".so") and
                                                      not name.endswith(TAGGED_SUFFIXES)):
            parts = f.parts[:-1]
            in_packages = all((Path(dist.locate_file("/".join(parts[:i + 1]))) / "__init__.py")
                              .exists() for i in range(len(parts)))
            if in_packages:
                stem = f.name[:-len(next(s for s in EXTENSION_SUFFIXES if name.endswith(s)))]
                modules.append(".".join((*parts, stem)))
            continue
        if re.search(r"\.so(\.[\w.]+)?$", name) and path.is_file():
            others.append(path)
    return modules, others


def _import_failures(modules: list[str]) -> list[dict]:
    if not modules:
        return []
    proc = subprocess.run([sys.executable, "-c", IMPORTER], input=" ".join(modules),
                          capture_output=True, text=True, timeout=300)
    failures = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        done = {f["module"] for f in failures}
        failures.append({"module": next((m for m in modules if m not in done), modules[-1]),
                         "error": f"the interpreter died (status {proc.returncode}): "
                                  f"{proc.stderr.strip()[-300:]}"})
    return failures


def _ldd_missing(paths: list[Path]) -> dict[Path, set[str]]:
    """shared object → the sonames ldd does not find for it."""
    out: dict[Path, set[str]] = {}
    for i in range(0, len(paths), 200):
        chunk = paths[i:i + 200]
        proc = subprocess.run(["ldd", *map(str, chunk)], capture_output=True, text=True)
        current = chunk[0] if len(chunk) == 1 else None   # (one file: no heading)
        for line in proc.stdout.splitlines():
            if not line.startswith(("\t", " ")) and line.endswith(":"):
                current = Path(line[:-1])
            elif current is not None:
                for soname in LDD_NOT_FOUND.findall(line):
                    out.setdefault(current, set()).add(soname)
    return out


def library_problems(pyproject: Path, table: Path) -> list[str]:
    dists, problems = dependency_closure(pyproject)
    need, optional = system_libraries(table)
    site = Path(sysconfig.get_paths()["purelib"])
    bundled = {p.name for folder in {site, Path(sysconfig.get_paths()["platlib"])}
               for p in folder.rglob("*.so*")}

    def advice(soname: str) -> str:
        if soname in need:
            package, _ = need[soname]
            return f"install Debian's {package} (tools/setup-system.sh does it, as root)"
        return (f"SYSTEM_LIBS in tools/setup-system.sh does not name it: add `need {soname} "
                f"<Debian package> <who loads it>` (`apt-file search {soname}` names the "
                "package) and run tools/setup-system.sh")

    per_dist = [(d, *_shared_objects(d)) for d in dists]
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = list(pool.map(lambda t: _import_failures(t[1]), per_dist))
    for (dist, _, _), fails in zip(per_dist, failures):
        label = f"{dist.metadata['Name']} {dist.version}"
        for f in fails:
            missing = MISSING_SO.search(f["error"])
            if missing and missing.group(1) in optional:
                continue
            if missing:
                problems.append(f"{label}: `import {f['module']}` fails: {missing.group(1)} is "
                                f"missing — {advice(missing.group(1))}")
            elif "died" in f["error"]:
                problems.append(f"{label}: `import {f['module']}`: {f['error']}")
    others = [p for _, _, objs in per_dist for p in objs]
    for path, sonames in sorted(_ldd_missing(others).items()):
        owner = next(f"{d.metadata['Name']} {d.version}" for d, _, objs in per_dist if path in objs)
        for soname in sorted(sonames - optional - bundled):
            problems.append(f"{owner}: {path.relative_to(site) if path.is_relative_to(site) else path} "
                            f"needs {soname}, which is missing — {advice(soname)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path,
                   help="the project folder (constraints.txt, pyproject.toml, tools/)")
    p.add_argument("--no-libraries", action="store_true", help="check the pins only")
    args = p.parse_args(argv)
    root = args.root
    problems = pin_problems(root / "constraints.txt", root / "pyproject.toml")
    if not args.no_libraries:
        problems += library_problems(root / "pyproject.toml", root / "tools" / "setup-system.sh")
    for line in problems:
        print(f"check-install: {line}", file=sys.stderr)
    if problems:
        print(f"check-install: {len(problems)} problem(s): a new machine would fail here",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
