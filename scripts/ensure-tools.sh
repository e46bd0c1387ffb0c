#!/usr/bin/env bash
# ensure-tools.sh — makes sure every tool the build and the tests need is on
# this machine (run by `make tools`, which `make test`, `make demo` and
# `make bench` depend on; .ci/run goes through the same path).
#
# A missing tool that Debian packages is installed with apt-get when this
# runs as root on Debian (or Ubuntu). Otherwise the script prints the exact
# command to run and fails. Go is not taken from apt (Debian's is older than
# go.mod needs): install Go 1.26 from https://go.dev/dl and put it on PATH.
set -euo pipefail

need_pkgs=()
missing=()
check() { # check COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 || { missing+=("$1"); need_pkgs+=("$2"); }
}
check flatc flatbuffers-compiler
check wat2wasm wabt
check gcc gcc
check g++ g++
check make make
check git git
check pkg-config pkg-config
check python3 python3
check node nodejs
check npm npm
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=("python3 venv"); need_pkgs+=("python3-venv")
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-tools: go not found: install Go 1.26 (https://go.dev/dl) and put it on PATH" >&2
  exit 2
fi

if [ ${#need_pkgs[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get update && apt-get install -y --no-install-recommends ${need_pkgs[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: installing ${need_pkgs[*]} (missing: ${missing[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  exit 0
fi
echo "ensure-tools: missing ${missing[*]}; install them with:" >&2
echo "  sudo sh -c '$cmd'" >&2
exit 2
