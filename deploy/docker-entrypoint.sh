#!/bin/sh
# natter's image runs one service, named by the first argument:
#   docker run natter auth|group|presence|edge
# Anything else runs as a command (e.g. `docker run -it natter sh`).
set -e
case "$1" in
  auth | group | presence | edge)
    service="$1"
    shift
    # exec: node becomes PID 1 and gets SIGTERM itself; every service drains on it.
    exec node --enable-source-maps "/app/services/$service/dist/main.mjs" "$@"
    ;;
  "")
    echo "usage: natter auth|group|presence|edge" >&2
    exit 64
    ;;
  *)
    exec "$@"
    ;;
esac
