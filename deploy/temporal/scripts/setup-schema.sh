#!/bin/sh
# One-shot job (service "temporal-schema", image temporalio/admin-tools):
# creates Temporal's two PostgreSQL databases if missing and brings both
# schemas up to the version shipped in this admin-tools image.
#
# Safe to re-run: "create" accepts an existing database, setup-schema -v 0.0
# leaves an already-versioned schema alone, and update-schema only applies the
# missing versions. It runs on every "docker compose up", which is also how
# the schema gets upgraded after bumping the Temporal image tags.
#
# The admin-tools image is Alpine: plain POSIX sh, busybox nc.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:=postgresql}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?SQL_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
: "${TEMPORAL_DB:=temporal}"
: "${TEMPORAL_VISIBILITY_DB:=temporal_visibility}"
: "${SCHEMA_ROOT:=/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD # read by temporal-sql-tool

echo "temporal-schema: waiting for ${SQL_HOST}:${SQL_PORT}"
i=0
until nc -z -w 2 "$SQL_HOST" "$SQL_PORT"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "temporal-schema: ${SQL_HOST}:${SQL_PORT} not reachable after 120s" >&2
    exit 1
  fi
  sleep 2
done

sqltool() {
  temporal-sql-tool --plugin "$SQL_PLUGIN" --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}

setup_db() {
  db="$1"
  dir="$2"
  echo "temporal-schema: database ${db}"
  # "create" succeeds when the database already exists (temporal-sql-tool
  # ignores PostgreSQL's duplicate-database error), so any failure is real.
  sqltool --db "$db" create
  sqltool --db "$db" setup-schema -v 0.0
  sqltool --db "$db" update-schema -d "$dir"
}

setup_db "$TEMPORAL_DB" "${SCHEMA_ROOT}/temporal/versioned"
setup_db "$TEMPORAL_VISIBILITY_DB" "${SCHEMA_ROOT}/visibility/versioned"

echo "temporal-schema: done"
