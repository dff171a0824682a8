#!/usr/bin/env bash
# docker-compose on deploy/compose.yaml with deploy/local/compose.yaml over it, for a
# machine without an image registry or a bridge network. Arguments go to docker-compose:
#
#   deploy/local/compose.sh -p natter up -d
#   deploy/local/compose.sh -p natter ps
#   deploy/local/compose.sh -p natter down -v
#
# On the host network docker refuses published ports, and an override can add to a
# service's `ports` but not take them away. So this merges the two files (leaving their
# variables for docker-compose to fill), drops `ports` from every host-network service,
# and runs docker-compose on the result from deploy/, where it finds .env as usual.
set -euo pipefail
deploy=$(cd "$(dirname "$0")/.." && pwd)

merged=$(mktemp --suffix=.yaml)
trap 'rm -f "$merged"' EXIT

# PyYAML comes with docker-compose.
docker-compose --project-directory "$deploy" -f "$deploy/compose.yaml" -f "$deploy/local/compose.yaml" \
  config --no-interpolate \
  | python3 -c '
import sys, yaml
config = yaml.safe_load(sys.stdin)
for service in config["services"].values():
    if service.get("network_mode") == "host":
        service.pop("ports", None)
yaml.safe_dump(config, sys.stdout, sort_keys=False)
' > "$merged"

docker-compose --project-directory "$deploy" -f "$merged" "$@"
