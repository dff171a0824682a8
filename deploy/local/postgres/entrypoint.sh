#!/bin/sh
# Starts PostgreSQL as the postgres image does, for the variables natter uses: on first
# start (an empty PGDATA) it makes a cluster whose superuser is POSTGRES_USER (default
# postgres) with POSTGRES_PASSWORD, and the database POSTGRES_DB (default: the user's
# name). Connections over TCP use POSTGRES_HOST_AUTH_METHOD (default scram-sha-256, which
# needs the password). Then postgres runs as PID 1 with this script's arguments.
set -eu

user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "$method" != trust ] && [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres-entrypoint: set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust" >&2
    exit 64
  fi
  password_file=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-unused}" > "$password_file"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$password_file" \
    --auth-local=trust --auth-host="$method" --encoding=UTF8 --locale=C.UTF-8 > /dev/null
  rm -f "$password_file"
  # Clients come from other containers too, not only from 127.0.0.1.
  echo "host all all all $method" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  if [ "$database" != postgres ]; then
    # Single-user mode: the database exists before the server takes any connection.
    echo "CREATE DATABASE \"$database\"" | postgres --single -D "$PGDATA" postgres > /dev/null
  fi
fi

exec postgres -D "$PGDATA" "$@"
