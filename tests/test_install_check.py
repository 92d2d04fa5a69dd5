"""tools/check_install.py (run by `make test` before the suite) and tools/lock.py: a pin to a
file, or a wheel whose library a fresh machine lacks, fails with a message that says what to
do — checked against a real environment: a distribution whose extension module and plugin
really cannot be loaded (their ELF names a library no machine has)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import check_install  # noqa: E402
import lock  # noqa: E402

GOOD_PYPROJECT = """
[build-system]
requires = ["setuptools>=65"]
[project]
name = "x"
version = "1"
dependencies = ["fakeext==1.0"]
"""


def test_the_repository_pins_registry_versions_only():
    assert check_install.pin_problems(ROOT / "constraints.txt", ROOT / "pyproject.toml") == []


def test_a_pin_to_a_file_url_or_range_is_refused(tmp_path):
    c = tmp_path / "constraints.txt"
    c.write_text("numpy==2.4.6\n# a comment\n\n"
                 "open3d-cpu @ file:///tmp/whl2/open3d_cpu-0.20.0-cp311-cp311-manylinux.whl\n"
                 "scipy>=1.0\n--find-links /opt/wheels\nrequests @ https://example.invalid/r.whl\n")
    p = tmp_path / "pyproject.toml"
    p.write_text('[project]\nname = "x"\nversion = "1"\ndependencies = ["numpy==2.4.6", '
                 '"mylib @ file:///home/me/mylib"]\n'
                 '[project.optional-dependencies]\ntest = ["pytest @ git+https://x.invalid/p"]\n')
    problems = check_install.pin_problems(c, p)
    assert len(problems) == 6, problems
    assert problems[0].startswith("constraints.txt:4: open3d-cpu is pinned to 'file:///tmp/whl2")
    assert "write `open3d-cpu==VERSION`" in problems[0]
    assert problems[1].startswith("constraints.txt:5: 'scipy>=1.0' does not pin one version")
    assert problems[2].startswith("constraints.txt:6: '--find-links /opt/wheels': an option")
    assert problems[3].startswith("constraints.txt:7: requests is pinned to")
    assert "[project] dependencies: mylib names 'file:///home/me/mylib'" in problems[4]
    assert "optional-dependencies] test: pytest names" in problems[5]


def test_the_lock_rewrites_what_pip_freeze_writes_for_a_wheel_from_disk():
    import numpy
    frozen = ("numpy @ file:///tmp/whl/numpy-x.whl#sha256=00\n"
              "# Editable install with no version control (minetwin==0.1.0)\n-e /work/main\n"
              "scipy==1.17.1\n")
    assert lock.lock_lines(frozen) == [f"numpy=={numpy.__version__}", "scipy==1.17.1"]


def _unloadable_copy(dest: Path) -> None:
    """A copy of a real extension module of a pinned dependency whose ELF names libq.so.6
    instead of libm.so.6 (same length): no machine has it, so the loader refuses it."""
    site = Path(sysconfig.get_paths()["platlib"])
    for so in sorted((site / "scipy").rglob("*.so")):
        data = so.read_bytes()
        if so.stat().st_size < 1_000_000 and b"\x00libm.so.6\x00" in data:
            dest.write_bytes(data.replace(b"\x00libm.so.6\x00", b"\x00libq.so.6\x00"))
            return
    raise AssertionError("no small extension module of scipy links libm.so.6")


def _fake_environment(tmp_path: Path, system_libs: str) -> tuple[Path, Path]:
    """(project folder, site folder): a project that declares `fakeext`, an installed
    `fakeext` whose extension module and plugin need libq.so.6."""
    site = tmp_path / "site"
    pkg = site / "fakeext"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    _unloadable_copy(pkg / f"_broken{suffix}")
    _unloadable_copy(pkg / "libplugin.so")
    info = site / "fakeext-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeext\nVersion: 1.0\n")
    (info / "RECORD").write_text(f"fakeext/__init__.py,,\nfakeext/_broken{suffix},,\n"
                                 "fakeext/libplugin.so,,\nfakeext-1.0.dist-info/METADATA,,\n"
                                 "fakeext-1.0.dist-info/RECORD,,\n")
    project = tmp_path / "project"
    (project / "tools").mkdir(parents=True)
    (project / "pyproject.toml").write_text(GOOD_PYPROJECT)
    (project / "constraints.txt").write_text("fakeext==1.0\n")
    (project / "tools" / "setup-system.sh").write_text(f'SYSTEM_LIBS="\n{system_libs}"\n')
    return project, site


def _check(project: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, str(ROOT / "tools" / "check_install.py"),
                           "--root", str(project)], capture_output=True, text=True, env=env,
                          timeout=300)


def test_a_module_or_plugin_whose_library_is_missing_is_named_with_what_to_do(tmp_path):
    assert shutil.which("ldd"), "ldd (Debian's libc-bin) reads the plugins' libraries"
    project, site = _fake_environment(tmp_path, "need libusb-1.0.so.0 libusb-1.0-0 open3d\n")
    r = _check(project, site)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert any(line.startswith("check-install: fakeext 1.0: `import fakeext._broken` fails: "
                               "libq.so.6 is missing — SYSTEM_LIBS in tools/setup-system.sh does "
                               "not name it: add `need libq.so.6 <Debian package> <who loads it>`")
               for line in lines), r.stderr
    assert any("fakeext/libplugin.so needs libq.so.6, which is missing" in line
               for line in lines), r.stderr
    assert lines[-1] == "check-install: 2 problem(s): a new machine would fail here"


def test_a_library_in_the_table_says_which_package_installs_it(tmp_path):
    project, site = _fake_environment(tmp_path, "need libq.so.6 libq6 fakeext\n")
    r = _check(project, site)
    assert r.returncode == 1
    assert "libq.so.6 is missing — install Debian's libq6 (tools/setup-system.sh" in r.stderr


def test_an_optional_library_is_not_a_problem(tmp_path):
    project, site = _fake_environment(tmp_path, "optional libq.so.6 - fakeext's extras\n")
    r = _check(project, site)
    assert r.returncode == 0, r.stderr


def test_setup_system_installs_from_the_table_the_check_reads():
    script = (ROOT / "tools" / "setup-system.sh").read_text()
    assert 'done <<<"$SYSTEM_LIBS"' in script          # the install loop reads that table
    table = check_install.system_libraries(ROOT / "tools" / "setup-system.sh")[0]
    assert table["libusb-1.0.so.0"][0] == "libusb-1.0-0"
