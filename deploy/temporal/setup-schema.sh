#!/bin/sh
# The temporal-schema job of docker-compose.yml (image temporalio/admin-tools, the server's
# release): create Temporal's two databases and bring both schemas to the version this release
# ships. Runs at every `up` and changes nothing the second time: `create` ignores an existing
# database, `setup-schema` keeps a newer version, `update-schema` applies only what is missing.
# An upgrade of the server image is an upgrade of this job's image to the same tag.
# temporal-sql-tool reads the connection from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD (set by the compose file), so the password never appears in a command line.
set -eu

schemas=/etc/temporal/schema/postgresql/v12
for database in temporal temporal_visibility; do
    if [ "$database" = temporal ]; then
        versions="$schemas/temporal/versioned"
    else
        versions="$schemas/visibility/versioned"
    fi
    temporal-sql-tool --db "$database" create --defaultdb postgres
    temporal-sql-tool --db "$database" setup-schema -v 0.0
    temporal-sql-tool --db "$database" update-schema -d "$versions"
done
echo "temporal schemas are current"
