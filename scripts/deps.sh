#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages wiretally needs.
#   scripts/deps.sh build   libpcap and a C toolchain, to build and run
#   scripts/deps.sh test    also the real clients and servers the test suite drives
# Uses sudo when not root. Does nothing for packages already installed.
set -euo pipefail

build=(libpcap-dev gcc libc6-dev)
test=(dnsmasq udhcpc dnsutils curl iproute2 python3 tcpdump procps)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 64 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
