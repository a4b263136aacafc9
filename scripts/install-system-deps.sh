#!/bin/sh
# Debian packages saraban needs: LibreOffice (docx -> PDF), poppler (PDF -> PNG in tests), fontconfig.
# Installs only what is missing; uses sudo when not root.
set -eu
missing=""
command -v soffice >/dev/null 2>&1 || missing="$missing libreoffice-writer-nogui"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
command -v fc-match >/dev/null 2>&1 || missing="$missing fontconfig"
[ -z "$missing" ] && exit 0
echo "Installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
