#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then the npm packages: the README's
# test command and .ci/run both start here, so a test whose tool is missing is a failure, not a skip.
# Only what is missing is installed (no apt-get otherwise). Needs root, or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

# The AWS CLI (Debian's awscli at /usr/bin/aws) is the independent client the emulator is checked
# against; tinyproxy is the real proxy of the proxy tests; openssl makes their test CA; GNU parallel
# starts the shards of the scale-out tests (and of docs/scale-out.md's example); python3 gives the
# terminal tests a pty.
need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v parallel >/dev/null 2>&1 || need+=(parallel)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  echo "setup-tests: installing ${need[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
