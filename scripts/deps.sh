#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages wiretally needs.
#   scripts/deps.sh build   libpcap and a C toolchain, to build and run
#   scripts/deps.sh test    also the real clients and servers the test suite drives
# Uses sudo when not root. Does nothing for packages already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

build=(libpcap-dev gcc libc6-dev)
test=(dnsmasq udhcpc dnsutils curl iproute2 python3 python3-venv tcpdump procps openssl tshark chromium prometheus systemd logrotate)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 64 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# cargo-deb, for the package test.
if [ "${1:-build}" = test ] && ! command -v cargo-deb >/dev/null; then
  cargo install cargo-deb --locked --quiet
fi

# FoxIO's JA4 reference implementation, for the live TLS/QUIC test.
if [ "${1:-build}" = test ] && [ ! -x target/ja4plus-venv/bin/ja4plus ]; then
  mkdir -p target
  python3 -m venv target/ja4plus-venv
  target/ja4plus-venv/bin/pip install -q ja4plus==1.4.0
fi
