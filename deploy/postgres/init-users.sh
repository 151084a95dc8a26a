#!/bin/sh
# Runs once, when the PostgreSQL container starts on an empty data directory
# (/docker-entrypoint-initdb.d/): one login role per service, so neither can touch the other's data.
#   temporal  may create databases: Temporal's admin tools create `temporal` and
#             `temporal_visibility` themselves (the temporal-schema job), owned by this role.
#   durapay   owns the `durapay` database, which only it may connect to; `python -m db.migrate`
#             creates its tables.
# Passwords come from the container's environment and reach SQL as psql variables, quoted by
# psql (:'name'), never pasted into the statement text.
set -eu

psql --username "$POSTGRES_USER" --dbname postgres -v ON_ERROR_STOP=1 \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" \
    -v durapay_password="$DURAPAY_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE durapay LOGIN PASSWORD :'durapay_password';
CREATE DATABASE durapay OWNER durapay;
REVOKE ALL ON DATABASE durapay FROM PUBLIC;
SQL
