#!/bin/sh
# First start: initdb with the POSTGRES_* settings, then run the server on all interfaces.
set -eu
mkdir -p "$PGDATA" /run/postgresql && chown -R postgres:postgres "$PGDATA" /run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" > /tmp/pw && chown postgres /tmp/pw
  su postgres -c "initdb -D $PGDATA -U $user --pwfile=/tmp/pw -A scram-sha-256" >/dev/null
  rm /tmp/pw
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    su postgres -c "postgres -D $PGDATA -c listen_addresses=" & pid=$!
    until su postgres -c "pg_isready -q"; do sleep 0.2; done
    su postgres -c "PGPASSWORD='$POSTGRES_PASSWORD' psql -q -U $user -d postgres -c 'CREATE DATABASE \"$POSTGRES_DB\"'"
    kill "$pid"; wait "$pid" || true
  fi
fi
exec su postgres -c "exec postgres -D $PGDATA -c listen_addresses=*"
