#!/usr/bin/env bash
# Installs what building and testing need, only what is missing, so it can run again safely.
# Versions are pinned to what works with this toolchain (see docs/architecture/10-build.md).
set -euo pipefail
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130

# Trunk and wasm-bindgen are build tools, not shipped code: install them without their own
# fat-LTO, single-codegen-unit release profiles, which cost most of a fresh machine's first run.
# Config-level profile settings (these variables) win over the packages' Cargo.toml.
tool_install() {
  CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
  CARGO_PROFILE_RELEASE_INCREMENTAL=false \
  CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_STRIP=true \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=2 \
    cargo install "$@"
}

need_apt=()
want_browser="${WANT_BROWSER:-0}"
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v pg_ctlcluster >/dev/null || [ "${WANT_POSTGRES:-0}" = 0 ] || need_apt+=(postgresql)
if [ "$want_browser" = 1 ]; then command -v chromium >/dev/null || need_apt+=(chromium); fi
# The reverse-proxy test (end2end/proxy) runs Debian's nginx as a child process, never as the
# system service.
if [ "${WANT_NGINX:-0}" = 1 ]; then [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light); fi
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

if ! { command -v trunk >/dev/null && trunk --version | grep -q "$TRUNK_VERSION"; }; then
  echo "==> cargo install trunk $TRUNK_VERSION (once)"
  tool_install trunk --locked --version "$TRUNK_VERSION"
fi
if ! { command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q "$WASM_BINDGEN_VERSION"; }; then
  echo "==> cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (once)"
  # Not --locked: its lockfile pins a webpki-roots release the registry does not serve.
  tool_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
