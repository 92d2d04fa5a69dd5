#!/usr/bin/env bash
# Install the Debian packages MineTwin needs when they are missing (as root), or say exactly
# what to install. Quick when everything is there: it only looks.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }

have make || missing+=(make)
if ! have python3 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3 python3-venv)
fi
if ! python3 -c 'import sysconfig, os; p = sysconfig.get_paths()["include"]; \
    raise SystemExit(0 if os.path.exists(os.path.join(p, "Python.h")) else 1)' >/dev/null 2>&1; then
  missing+=(python3-dev)   # only for packages that build from source; wheels need none
fi
have node || missing+=(nodejs)
have npm || missing+=(npm)
# Real servers the tests (and a real deployment's feeds) use.
have redis-server || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
have mosquitto || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
# The browser the viewer's tests drive (headless, software WebGL), and CJK glyphs for its
# Chinese interface (screenshots, wall tiles).
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto | grep -q CJK \
  || missing+=(fonts-noto-cjk)

# Every shared library a wheel loads from the system that a fresh Debian lacks (checked
# against `debootstrap --variant=minbase bookworm`), checked by library, so a machine that has
# it from elsewhere installs nothing. `optional` rows: libraries only parts of a wheel we never
# load need; they may be missing. tools/check_install.py (run by `make test`) reads this table
# too, and fails on any library a wheel needs that is neither here nor on the machine.
SYSTEM_LIBS="
# kind     soname                    Debian package   who loads it
need       libusb-1.0.so.0           libusb-1.0-0     open3d: its pybind module and libOpen3D link it
need       libX11.so.6               libx11-6         panda3d: the software renderer (libp3tinydisplay), GLX
need       libEGL.so.1               libegl1          panda3d: OpenGL offscreen through EGL (libpandagl)
need       libGL.so.1                libgl1           panda3d: OpenGL (libpandagl)
optional   libtorch_cpu.so           -                open3d.ml.torch (PyTorch ops; the twin uses no ML)
optional   libc10.so                 -                open3d.ml.torch (PyTorch ops)
optional   libtensorflow_framework.so.2  -            open3d.ml.tf (TensorFlow ops)
optional   libtbb.so.12              -                open3d.ml.tf (TensorFlow ops)
"
sonames=$( { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | awk 'NR > 1 {print $1}')
while read -r kind soname package _; do
  [ "$kind" = need ] || continue
  grep -qxF "$soname" <<<"$sonames" || missing+=("$package")
done <<<"$SYSTEM_LIBS"
# Mesa's drivers: OpenGL offscreen where there is no GPU (llvmpipe), for Panda3D.
[ -d /usr/lib/x86_64-linux-gnu/dri ] || [ -d /usr/lib/aarch64-linux-gnu/dri ] || missing+=(libgl1-mesa-dri)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: missing system packages: ${missing[*]}" >&2
  echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
