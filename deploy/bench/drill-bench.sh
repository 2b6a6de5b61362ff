#!/usr/bin/env bash
# Drill benchmark, one run: the total time of a disaster-recovery drill through Lifeboat (plan run accepted until
# the run ends: PrepareRestore, fetch + decrypt + pg_restore into a scratch database, full verification of the
# backup's chunks, one row-count check per table, then the scratch database dropped) next to a bare pg_restore of
# a bare pg_dump -Fd of the same database, so the saga's overhead shows as a ratio; and the peak RSS of
# snapshot-worker (which restores) during the drill.
# Needs the platform running (./lifeboat up). Usage: deploy/bench/drill-bench.sh SCALE
# (scale 60 is about 70 MB, scale 1100 about 1 GB; database bench_<scale>, created if missing and kept).
# Ports follow ./lifeboat and deploy/local/stack.sh: PG_PORT, SCHEDULER_PORT, CATALOG_PORT, RECOVERY_PORT.
# RESTORE_JOBS (2) for the drill's and the bare pg_restore.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$ROOT/.work
SCALE=${1:?usage: deploy/bench/drill-bench.sh SCALE}
PG_PORT=${PG_PORT:-25432}
SCHEDULER=http://127.0.0.1:${SCHEDULER_PORT:-8081}
CATALOG=http://127.0.0.1:${CATALOG_PORT:-8085}
# every API call carries the admin token of the local run (./lifeboat up mints it into .work/tokens)
TOKEN_FILE=${LIFEBOAT_TOKEN_FILE:-$ROOT/.work/tokens/admin.token}
[[ -s $TOKEN_FILE ]] || { echo "no token at $TOKEN_FILE: start the platform with ./lifeboat up" >&2; exit 1; }
api() { curl -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "$@"; }
RECOVERY=http://127.0.0.1:${RECOVERY_PORT:-8084}
RESTORE_JOBS=${RESTORE_JOBS:-2}
export PGPASSWORD=postgres PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
OUT=$WORK/bench; mkdir -p "$OUT" "$WORK/secrets"
# inside the secret directory ./lifeboat gives the services (LIFEBOAT_SECRETS_DIRECTORIES)
SECRET=$WORK/secrets/sources/bench-pg-password; (umask 077; mkdir -p "${SECRET%/*}"; echo postgres > "$SECRET")
DB=bench_$SCALE
BARE_DB=bench_bare_restore_$$
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
cleanup() {
  set +e
  rm -rf "$OUT/drill-dump"
  "${PSQL[@]}" -d postgres -c "drop database if exists $BARE_DB" >/dev/null 2>&1
}
trap cleanup EXIT

if [[ -z $("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname='$DB'") ]]; then
  echo "creating $DB (scale $SCALE)"
  "${PSQL[@]}" -d postgres -c "create database $DB"
  "${PSQL[@]}" -d "$DB" -v scale="$SCALE" -f "$ROOT/deploy/local/sample-db.sql" >/dev/null
fi
SIZE=$("${PSQL[@]}" -d "$DB" -c "select pg_size_pretty(pg_database_size('$DB'))")
api -sf -X PUT "$SCHEDULER/api/v1/sources/$DB" -H 'Content-Type: application/json' \
  -d "{\"name\":\"$DB\",\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"database\":\"$DB\",\"username\":\"postgres\",\"passwordRef\":\"file:$SECRET\"}" >/dev/null

# a fresh FULL, so that "latest" satisfies the plan's RPO
ID=$(api -sf -X POST "$SCHEDULER/api/v1/backups" -H 'Content-Type: application/json' \
      -d "{\"sourceId\":\"$DB\",\"type\":\"FULL\"}" | jq -r .backupId)
while :; do
  ST=$(api -s "$CATALOG/api/v1/backups/$ID" | jq -r '.status // ""')
  [[ $ST == COMPLETED || $ST == FAILED ]] && break
  sleep 1
done
[[ $ST == COMPLETED ]] || { echo "backup $ID failed" >&2; exit 1; }

CHECKS=$("${PSQL[@]}" -d "$DB" -c "select json_agg(json_build_object('name', 'rows in ' || schemaname || '.' || relname,
  'kind', 'ROW_COUNT_AT_LEAST', 'table', schemaname || '.' || relname, 'minRows', 1))
  from pg_stat_user_tables")
PLAN=drill-bench-$SCALE
api -s -X DELETE "$RECOVERY/api/v1/plans/$PLAN" >/dev/null || true
# plans restore only into registered target servers; a drill's scratch databases are named drill_<run>_<step>
api -sf -X PUT "$RECOVERY/api/v1/targets/bench-local" -H 'Content-Type: application/json' \
  -d "{\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"user\":\"postgres\",\"passwordRef\":\"file:$SECRET\",\"databasePattern\":\"^(drill_.*|${DB}_drill)\$\"}" >/dev/null
api -sf -X POST "$RECOVERY/api/v1/plans" -H 'Content-Type: application/json' -d @- >/dev/null <<EOF
{"id": "$PLAN", "name": "drill benchmark $DB", "rto": "PT1H", "rpo": "PT1H", "stepTimeout": "PT2H",
 "steps": [
  {"kind": "RestoreDatabase", "sourceId": "$DB", "backup": "latest", "jobs": $RESTORE_JOBS,
   "target": "bench-local", "database": "${DB}_drill"},
  {"kind": "VerifyIntegrity", "checksums": true, "checks": $CHECKS}]}
EOF

SNAP_PID=$(cat "$WORK/run/snapshot-worker.pid")
PEAK=0
T0=$(now)
RUN=$(api -sf -X POST "$RECOVERY/api/v1/plans/$PLAN/runs" -H 'Content-Type: application/json' -d '{"mode":"drill"}' | jq -r .runId)
while :; do
  RSS=$(awk '/VmRSS/{print $2}' "/proc/$SNAP_PID/status"); (( RSS > PEAK )) && PEAK=$RSS
  ST=$(api -s "$RECOVERY/api/v1/runs/$RUN" | jq -r '.status // ""')
  [[ $ST == SUCCEEDED || $ST == FAILED || $ST == COMPENSATED ]] && break
  sleep 0.5
done
T1=$(now)
VIEW=$(api -s "$RECOVERY/api/v1/runs/$RUN")
[[ $ST == SUCCEEDED ]] || { echo "drill $RUN ended $ST: $(jq -r .reason <<<"$VIEW")" >&2; exit 1; }

rm -rf "$OUT/drill-dump"
pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=directory --compress=0 --jobs=2 -f "$OUT/drill-dump" "$DB"
"${PSQL[@]}" -d postgres -c "create database $BARE_DB"
T2=$(now)
pg_restore -h 127.0.0.1 -p "$PG_PORT" -U postgres --no-owner --exit-on-error --jobs="$RESTORE_JOBS" -d "$BARE_DB" "$OUT/drill-dump"
T3=$(now)

DRILL=$(secs "$T0" "$T1"); BARE=$(secs "$T2" "$T3")
echo "database $DB ($SIZE), backup $ID, drill run $RUN (trace $(jq -r .traceId <<<"$VIEW"))"
jq -r '.steps[] | "  step \(.index) \(.kind): \(.durationMillis) ms - \(.message)"' <<<"$VIEW"
jq -r '.result | "  result: totalMillis=\(.totalMillis) rtoMet=\(.rtoMet) rpoMet=\(.rpoMet) backupAgeSeconds=\(.backupAgeSeconds)"' <<<"$VIEW"
printf '%-10s %-16s %-16s %-8s %-22s\n' db_size lifeboat_drill_s bare_pg_restore_s ratio snapshot_worker_peak_rss
printf '%-10s %-16s %-16s %-8s %-22s\n' "${SIZE// /}" "$DRILL" "$BARE" "$(awk -v a="$DRILL" -v b="$BARE" 'BEGIN{printf "%.2f", a/b}')" "$((PEAK / 1024)) MB"
