#!/bin/sh
# Runs once, when the postgres container initialises an EMPTY data volume
# (files in /docker-entrypoint-initdb.d are skipped on later starts).
#
# Creates the Hookshot role and database. Temporal's databases (temporal,
# temporal_visibility) are created by the temporal-schema job instead, so
# that they are also (re)created on an existing volume.
set -e

: "${HOOKSHOT_DB_USER:=hookshot}"
: "${HOOKSHOT_DB_PASSWORD:=hookshot}"
: "${HOOKSHOT_DB_NAME:=hookshot}"

echo "hookshot-init: creating role '${HOOKSHOT_DB_USER}' and database '${HOOKSHOT_DB_NAME}'"

psql -v ON_ERROR_STOP=1 \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="$HOOKSHOT_DB_USER" -v pass="$HOOKSHOT_DB_PASSWORD" -v db="$HOOKSHOT_DB_NAME" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'pass')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
