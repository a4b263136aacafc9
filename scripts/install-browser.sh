#!/bin/sh
# Debian's chromium for the browser tests (Playwright drives it; Playwright's own download is not reachable).
# Installs it only when missing; uses sudo when not root. Used by `make test`.
set -eu
command -v chromium >/dev/null 2>&1 && exit 0
echo "Installing Debian package: chromium"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-thai-tlwg
