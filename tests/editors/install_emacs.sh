#!/bin/sh
# Install Emacs 30 (with eglot 1.17+) for tests/editors/test_emacs_eglot.py.
#
# Debian bookworm ships Emacs 28; Emacs 30 comes from bookworm-backports,
# which this script adds when it is not configured. Needs root (or sudo).
# The test suite never installs anything: it skips the Emacs test with a
# pointer to this script when `emacs` 30+ is missing.
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v emacs >/dev/null 2>&1 &&
    emacs --batch --eval '(kill-emacs (if (>= emacs-major-version 30) 0 1))' 2>/dev/null; then
    echo "Emacs $(emacs --batch --eval '(princ emacs-version)') is installed already"
    exit 0
fi

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
    echo "install_emacs.sh: expected Debian bookworm, found ${PRETTY_NAME:-unknown};" \
        "install Emacs 30 with your system's package manager" >&2
    exit 1
fi

if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -t bookworm-backports emacs-nox
emacs --version | head -n 1
