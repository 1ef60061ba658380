#!/usr/bin/env bash
# One setup script for `make demo` and `make test`: a virtual environment with the project, and
# (as root) the Debian packages the tests use as real peers. Run again, it installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

# Real peers the tests talk to or read with (Debian package names).
DEBIAN_PACKAGES=(tshark sip-tester mosquitto freediameterd freediameter-extensions)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: not root; please install: ${missing[*]}" >&2
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[dev]"
    # Kernel SCTP is optional: pysctp needs libsctp headers to build.
    "$VENV/bin/pip" install -q "pysctp>=0.7" 2>/dev/null || echo "setup: pysctp not installed; SCTP falls back to TCP framing"
    touch "$STAMP"
fi
