#!/usr/bin/env bash
# Builds target/debian/wiretally_VERSION_ARCH.deb with cargo-deb (installed if missing): for
# Debian, Ubuntu and the dpkg-based UOS (统信) and Kylin (银河麒麟). The packaged configuration is
# config/wiretally.toml with its signatures key pointed at /usr/share/wiretally/signatures.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --quiet
mkdir -p target/deb
sed 's|^signatures = .*|signatures = "/usr/share/wiretally/signatures"|' config/wiretally.toml \
    >target/deb/wiretally.toml
grep -q '^signatures = "/usr/share/wiretally/signatures"$' target/deb/wiretally.toml
cargo deb --strip "$@"
