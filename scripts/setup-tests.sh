#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, then the npm packages: the README's
# test command and .ci/run both start here, so a test whose tool is missing is a failure, not a skip.
# Only what is missing is installed (no apt-get otherwise). Needs root, or sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

# The AWS CLI (Debian's awscli at /usr/bin/aws) is the independent client the emulator is checked
# against; tinyproxy is the real proxy of the proxy tests; openssl makes their test CA; GNU parallel
# starts the shards of the scale-out tests (and of docs/scale-out.md's example); python3 gives the
# terminal tests a pty; slurm-wlm and munge (slurmctld, slurmd, munged) and openssh-server (sshd,
# with the ssh client) run docs/scale-out.md's Slurm array and parallel --sshlogin for real.
need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v tinyproxy >/dev/null 2>&1 || need+=(tinyproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v parallel >/dev/null 2>&1 || need+=(parallel)
command -v python3 >/dev/null 2>&1 || need+=(python3)
{ [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && command -v sbatch >/dev/null 2>&1; } || need+=(slurm-wlm)
{ [ -x /usr/sbin/munged ] && [ -x /usr/sbin/mungekey ]; } || need+=(munge)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
{ command -v ssh && command -v ssh-keygen; } >/dev/null 2>&1 || need+=(openssh-client)
if [ "${#need[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  echo "setup-tests: installing ${need[*]}" >&2
  # The daemons' packages start their services on install where they can (sshd on port 22, munged,
  # slurmctld): the tests start their own on 127.0.0.1, so none is started (policy-rc.d says no).
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null || { [ -z "$policy" ] || "${sudo[@]}" rm -f "$policy"; exit 1; }
  [ -z "$policy" ] || "${sudo[@]}" rm -f "$policy"
fi

npm ci --no-audit --no-fund
