#!/usr/bin/env bash
# Headless Chromium and ChromeDriver for the dashboard's browser tests (`make test`):
# Debian's chromium and chromium-driver, at CHROMIUM and CHROMEDRIVER (default
# /usr/bin/chromium and /usr/bin/chromedriver). Installed with apt-get where this user may
# (root, or sudo without a password); otherwise one line says what to run.
set -uo pipefail

chromium=${CHROMIUM:-/usr/bin/chromium}
driver=${CHROMEDRIVER:-/usr/bin/chromedriver}
[ -x "$chromium" ] && [ -x "$driver" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "browser: the dashboard's tests need Chromium and ChromeDriver: sudo apt-get install chromium chromium-driver" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "browser: install Chromium and ChromeDriver, then set CHROMIUM and CHROMEDRIVER to them" >&2
  exit 1
fi
echo "browser: installing chromium and chromium-driver with apt-get"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null ||
  { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; } || {
  echo "browser: apt-get could not install chromium and chromium-driver" >&2
  exit 1
}
