#!/bin/sh
# Installs Debian's headless-capable Chromium for the browser test (tests/browser).
# Playwright drives it through executable_path: its own browser download cannot
# reach its servers here, Debian's mirror can.
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "installing Chromium from Debian's packages (for the browser test)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$CHROMIUM" --version
