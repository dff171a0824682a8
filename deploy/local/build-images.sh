#!/usr/bin/env bash
# Builds natter's images on a machine whose Docker engine reaches no image registry, from
# Debian packages (a Debian package mirror and the npm registry must be reachable):
#
#   natter-local/debian:bookworm    a minimal Debian 12 (debootstrap, then docker import)
#   natter-local/nats:bookworm      Debian's nats-server           (for the nats image)
#   natter-local/postgres:bookworm  Debian's PostgreSQL 15         (for the postgres image)
#   natter-local/node:20            this machine's node and npm    (for node:20-slim)
#                                   and the CAs it added to its trust store
#   natter:local                    the repository's Dockerfile on natter-local/node:20
#
# Every build runs on the host network, so it works where dockerd has no bridge. The base
# is made once; the rest is cached by docker, so a second run takes seconds.
# Run as root (debootstrap). DEBIAN_MIRROR picks the mirror (default: debootstrap's).
set -euo pipefail
cd "$(dirname "$0")/../.."

suite=bookworm
base="natter-local/debian:$suite"
here=deploy/local

# The classic builder: BuildKit needs a buildx plugin that Debian's docker.io lacks, and
# its Dockerfile frontend would be pulled from a registry.
export DOCKER_BUILDKIT=0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Two runs at once (two CI jobs on one machine) take turns.
exec 9> "${TMPDIR:-/tmp}/natter-local-images.lock"
flock 9

step() { printf '== %s\n' "$*"; }
# Quiet when it works, the whole log when it does not.
build() {
  local log
  log=$(docker build --network host --force-rm "$@" 2>&1) || { printf '%s\n' "$log" >&2; return 1; }
}

if ! docker image inspect "$base" > /dev/null 2>&1; then
  step "$base (debootstrap, once)"
  # shellcheck disable=SC2086
  debootstrap --variant=minbase "$suite" "$scratch/rootfs" ${DEBIAN_MIRROR:-} > "$scratch/debootstrap.log" \
    || { tail -20 "$scratch/debootstrap.log" >&2; exit 1; }
  rm -rf "$scratch"/rootfs/var/cache/apt/archives/*.deb "$scratch"/rootfs/var/lib/apt/lists/*
  tar -C "$scratch/rootfs" -c . | docker import --change 'CMD ["bash"]' - "$base" > /dev/null
fi

step natter-local/nats:$suite
build --build-arg "BASE=$base" -t "natter-local/nats:$suite" "$here/nats"

step natter-local/postgres:$suite
build --build-arg "BASE=$base" -t "natter-local/postgres:$suite" "$here/postgres"

step natter-local/node:20
node=$(command -v node)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[[ "$("$node" --version)" == v20.* ]] || { echo "natter's image needs Node 20, not $("$node" --version)" >&2; exit 1; }
mkdir -p "$scratch/node/ca-certificates"
# Certificate authorities added to this machine's trust store (Debian's place for them).
find /usr/local/share/ca-certificates -name '*.crt' -exec cp -p {} "$scratch/node/ca-certificates/" \; 2>/dev/null || true
cp -p "$(readlink -f "$node")" "$scratch/node/node"
cp -pr "$npm_dir" "$scratch/node/npm"
build --build-arg "BASE=$base" -t natter-local/node:20 -f "$here/node/Dockerfile" "$scratch/node"

step natter:local
build --build-arg NODE_IMAGE=natter-local/node:20 -t natter:local .

# Untagged images left by earlier builds, so that a machine building on every CI run keeps
# its disk. Only those two days old: the Dockerfile's inner stages are untagged too, and
# removing them would lose the cache of `npm ci`.
docker image prune --force --filter until=48h > /dev/null

docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^natter(-local/|:local )' | sort
