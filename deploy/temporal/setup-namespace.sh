#!/bin/sh
# The temporal-setup job of docker-compose.yml (image temporalio/admin-tools): once the server
# answers, create Durapay's namespace and register Durapay's search attributes in it. Runs at
# every `up`; what exists already is left alone.
#   TEMPORAL_ADDRESS   the frontend, e.g. temporal:7233
#   NAMESPACE          DURAPAY_TEMPORAL_NAMESPACE
#   RETENTION          how long closed workflows stay readable, e.g. 30d
#   SEARCH_ATTRIBUTES  "Name=Type ..." (contracts/search_attributes.py; a test keeps them equal)
set -eu

# A freshly started server (or a namespace created a moment ago) refuses requests for a few
# seconds: retry each step for up to a minute before failing the job.
retry() {
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "gave up: $*" >&2
            return 1
        fi
        sleep 2
    done
}

namespace_exists() {
    temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" >/dev/null 2>&1 \
        || temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
            --namespace "$NAMESPACE" --retention "$RETENTION"
}

attribute_exists() {
    temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" | grep -qw "$1" \
        || temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" \
            --namespace "$NAMESPACE" --name "$1" --type "$2"
}

retry temporal operator cluster health --address "$TEMPORAL_ADDRESS"
retry namespace_exists
for attribute in $SEARCH_ATTRIBUTES; do
    retry attribute_exists "${attribute%%=*}" "${attribute#*=}"
done
echo "namespace $NAMESPACE is ready with its search attributes"
