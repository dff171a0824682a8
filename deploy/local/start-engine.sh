#!/usr/bin/env bash
# Installs and starts, as root on Debian, what natter's containers need on a machine like
# CI's: Debian's docker.io, docker-compose and debootstrap, and dockerd without a bridge
# or iptables rules, so that every container runs on the host network and all traffic
# stays on 127.0.0.1. What is already there is left as it is. Exits non-zero when dockerd
# does not answer, saying why (its log is in $DOCKERD_LOG).
set -euo pipefail

log="${DOCKERD_LOG:-/var/log/natter-dockerd.log}"

missing=()
for tool_package in dockerd:docker.io docker-compose:docker-compose debootstrap:debootstrap; do
  command -v "${tool_package%%:*}" > /dev/null || missing+=("${tool_package#*:}")
done
if ((${#missing[@]} > 0)); then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi

answers() { docker info > /dev/null 2>&1; }

if ! answers; then
  echo "starting dockerd (log: $log)"
  setsid dockerd --bridge=none --iptables=false >> "$log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    answers && break
    sleep 0.5
  done
fi
if ! answers; then
  echo "dockerd does not answer; the last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
fi
docker version --format 'docker engine {{.Server.Version}}'
