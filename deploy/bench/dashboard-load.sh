#!/usr/bin/env bash
# The dashboard's first pages with 10,000 backups in the catalog, one run: how long the fleet overview (/ui) and one
# source's page (/ui/sources/<id>, its newest 200 backups, plots and recoverable window) take to load, signed in as a
# viewer. The catalog is seeded as deploy/bench/catalog-scale.sh seeds it (SOURCES x PER_SOURCE rows straight into a
# database of its own, a scheduler-service stand-in for the policies); it prints the times.
# Needs what catalog-scale.sh needs (Kafka and PostgreSQL of deploy/local/stack.sh, a JDK, curl, jq, psql, python3).
# Usage: deploy/bench/dashboard-load.sh   Environment: as catalog-scale.sh; SOURCES (10), PER_SOURCE (1000).
set -euo pipefail
exec env SOURCES="${SOURCES:-10}" PER_SOURCE="${PER_SOURCE:-1000}" DEEP="${DEEP:-10}" DASHBOARD_ONLY=1 \
  "$(dirname "$0")/catalog-scale.sh"
