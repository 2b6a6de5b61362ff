#!/usr/bin/env bash
# Point-in-time recovery benchmark, one run, through the running platform (./lifeboat up), next to pgBackRest on
# the same cluster:
#   1. physical FULL, from the request until the completion the platform recorded, next to `pgbackrest backup
#      --type=full` (zst, process-max 2, start-fast), both while pgbench writes FULL_WRITE_RATE transactions a second;
#   2. WAL archive lag while pgbench writes at full speed for PGBENCH_SECONDS: snapshot-worker's
#      lifeboat_wal_archive_lag_seconds gauge sampled every 0.5 s (p50, p99, max);
#   3. restore of that FULL plus all the WAL pgbench wrote, until the new cluster is promoted and accepts
#      connections: a recovery run with one RestoreCluster step (to latest) next to `pgbackrest restore` plus
#      `pg_ctl start` until promoted;
#   4. the peak RSS (VmHWM) of every service process.
# The cluster is one of its own (deploy/bench/varied-cluster.sh: SIZE_GB of varied data in two schemas, plus pgbench
# tables at PGBENCH_SCALE), registered as a physical source; its WAL goes both to pgBackRest (archive_command) and
# to Lifeboat's archiver (replication slot). Before the FULLs and before the restores the current segment is
# switched and both archives are waited for: the FULLs share the machine with no archive backlog, and both restores
# replay the same WAL.
# Needs: the platform running (./lifeboat up; start snapshot-worker with LIFEBOAT_ARCHIVER_STATUS_INTERVAL=1s for
# fine-grained lag samples), pgbackrest, jq. Ports follow ./lifeboat: SCHEDULER_PORT, SNAPSHOT_PORT, RECOVERY_PORT,
# CATALOG_PORT. Environment: BENCH_PG_PORT (21436), SIZE_GB (1), PGBENCH_SCALE (20), PGBENCH_SECONDS (60),
# PGBENCH_CLIENTS (4), FULL_WRITE_RATE (50 pgbench transactions a second during the FULLs, both sides; 0: none),
# FULL_ROUNDS (1; more: each side's next FULLs too, in turn, the restores from the last), PGBR_REPO (posix:
# pgBackRest's repository on local disk; s3: on an S3Proxy of its own over https, see varied-cluster.sh),
# CLUSTER_PORT (5499, the restored cluster, within the cluster target's ports), CPU_REPORT=1 (each process's
# CPU-seconds during the FULLs, printed at the end), KEEP=1 keeps the clusters and pgBackRest's repository. Everything it starts is stopped on exit, by pid or pg_ctl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/deploy/bench/varied-cluster.sh"
PORT=${BENCH_PG_PORT:-21436}
SIZE_GB=${SIZE_GB:-1}
WORK=$ROOT/.work/pitr-bench
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA=$WORK/data
PGBR=$WORK/pgbackrest
PGBR_DATA=$WORK/pgbr-restore
PGBR_PORT=$((PORT + 1))
CLUSTER_PORT=${CLUSTER_PORT:-5499}
CLUSTER=pitr-bench
CLUSTERS=$ROOT/.work/clusters
# a source id of its own per run: each run's cluster is a new one (its own system identifier), and the archive of an
# earlier run's cluster stays in the bucket, where the archiver would refuse the new cluster under the same id
SOURCE=pitr-bench-$(date -u +%Y%m%d%H%M%S)
SCHEDULER=http://127.0.0.1:${SCHEDULER_PORT:-8081}
METRICS=http://127.0.0.1:${SNAPSHOT_PORT:-8082}/q/metrics
RECOVERY=http://127.0.0.1:${RECOVERY_PORT:-8084}
CATALOG=http://127.0.0.1:${CATALOG_PORT:-8085}
TOKEN_FILE=${LIFEBOAT_TOKEN_FILE:-$ROOT/.work/tokens/admin.token}
AS_PG=()
[[ $(id -u) == 0 ]] && AS_PG=(runuser -u postgres --)

fail() { echo "pitr-bench: $*" >&2; exit 1; }
say() { echo "== $(date -u +%T) $*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
api() { curl -s -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "$@"; }
# waits (deadline in seconds) until the command succeeds
# AWAIT_SLEEP: seconds between looks (0.5)
await() { local deadline=$(( $(date +%s) + $1 )); shift; until "$@"; do
  (( $(date +%s) < deadline )) || return 1; sleep "${AWAIT_SLEEP:-0.5}"; done; }
command -v pgbackrest >/dev/null || fail "pgbackrest is required (apt-get install -y pgbackrest)"
command -v jq >/dev/null || fail "jq is required"
[[ -s $TOKEN_FILE ]] || fail "no token at $TOKEN_FILE: start the platform with ./lifeboat up"
curl -sf -o /dev/null "$METRICS" || fail "snapshot-worker's metrics do not answer at $METRICS (./lifeboat up; SNAPSHOT_PORT)"
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && fail "port 127.0.0.1:$PORT is in use (set BENCH_PG_PORT)"

SAMPLER=
WRITER=
CPU_PID=
cleanup() {
  set +e
  [[ -n $CPU_PID ]] && kill "$CPU_PID" 2>/dev/null
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
  [[ -n $WRITER ]] && kill "$WRITER" 2>/dev/null
  api -o /dev/null -X DELETE "$SCHEDULER/api/v1/sources/$SOURCE"
  [[ -f $CLUSTERS/$CLUSTER/postmaster.pid ]] && "${AS_PG[@]}" "$BIN/pg_ctl" -D "$CLUSTERS/$CLUSTER" -m immediate -w stop >/dev/null 2>&1
  [[ -f $PGBR_DATA/postmaster.pid ]] && "${AS_PG[@]}" "$BIN/pg_ctl" -D "$PGBR_DATA" -m immediate -w stop >/dev/null 2>&1
  # the archiver's slot would retain WAL on a cluster that is about to go anyway
  varied_cluster_stop
  pgbackrest_s3_down
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$WORK" "${CLUSTERS:?}/$CLUSTER" "$CLUSTERS/$CLUSTER.restore"; fi
}
trap cleanup EXIT

rm -rf "$WORK" "${CLUSTERS:?}/$CLUSTER" "$CLUSTERS/$CLUSTER.restore"; mkdir -p "$WORK" "$PGBR/repo" "$PGBR/log" "$PGBR/spool" "$CLUSTERS"
pgbackrest_conf
# the clusters' data root stays root's: a root worker refuses one the clusters' OS user could rename things in
[[ $(id -u) == 0 ]] && { chown -R postgres:postgres "$WORK"; chown root:root "$CLUSTERS"; chmod 755 "$CLUSTERS"; }

say "initdb under $DATA, port $PORT; ~$SIZE_GB GB of varied data and pgbench at scale ${PGBENCH_SCALE:-20}"
EXTRA_CONF="archive_mode = on
archive_command = 'pgbackrest --config=$PGBR/pgbackrest.conf --stanza=bench archive-push %p'"
varied_cluster_init
t0=$(now)
varied_cluster_fill
"${PSQL[@]}" -c "create database bench"
"${AS_PG[@]}" "$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -i -q -s "${PGBENCH_SCALE:-20}" bench 2>&1 | tail -1
"${PSQL[@]}" -c checkpoint
say "cluster ready in $(secs "$t0" "$(now)") s: $("${PSQL[@]}" -c "select pg_size_pretty(sum(pg_database_size(oid))) from pg_database")"
"${PGBACKREST[@]}" stanza-create

# the source, physical, its replication password in the secret directory ./lifeboat gives the services
SECRET=$ROOT/.work/secrets/sources/pitr-bench-password
(umask 077; mkdir -p "${SECRET%/*}"; echo replicator > "$SECRET")
api -sf -o /dev/null -X PUT "$SCHEDULER/api/v1/sources/$SOURCE" -H 'Content-Type: application/json' -d "$(jq -nc \
  --argjson port "$PORT" --arg ref "file:$SECRET" '{name: "PITR benchmark cluster", host: "127.0.0.1", port: $port,
  database: "postgres", username: "replicator", passwordRef: $ref, method: "physical"}')" \
  || fail "cannot register the physical source $SOURCE"
archiving() { local w; w=$(api -sf "$CATALOG/api/v1/sources/$SOURCE/rpo" | jq -c '.walArchive // {}')
  [[ $(jq -r .state <<<"$w") == REFUSED ]] && fail "the archiver refuses the source: $(jq -r .error <<<"$w")"
  jq -e '.archivedLsn != null' <<<"$w" >/dev/null; }
say "waiting for the archiver to take the source"
await 120 archiving || fail "no archiver reported the source within 120 s (snapshot-worker's LIFEBOAT_ARCHIVER_*)"

# switches the WAL segment and waits until pgBackRest (archive_command) and Lifeboat's archiver both hold everything
# up to it: END_LSN, SWITCHED
archives_caught_up() {
  # a commit first: a switch right after another one (pgBackRest's backup ends with one) would not switch at all
  "${PSQL[@]}" -c "select txid_current()" >/dev/null
  END_LSN=$("${PSQL[@]}" -c "select pg_current_wal_lsn()")
  SWITCHED=$("${PSQL[@]}" -c "select pg_walfile_name(pg_switch_wal())")
  pgbr_done() { [[ $("${PSQL[@]}" -c "select coalesce(last_archived_wal, '') >= '$SWITCHED' from pg_stat_archiver") == t ]]; }
  lifeboat_done() { local a; a=$(api -sf "$CATALOG/api/v1/sources/$SOURCE/rpo" | jq -r '.walArchive.archivedLsn // empty')
    [[ -n $a && $("${PSQL[@]}" -c "select '$a'::pg_lsn >= '$END_LSN'::pg_lsn") == t ]]; }
  await 300 pgbr_done || fail "pgBackRest did not archive $SWITCHED within 300 s"
  await 300 lifeboat_done || fail "Lifeboat's archive did not reach $END_LSN within 300 s"
}
# the cluster's creation wrote its size in WAL: both archives take that backlog before either FULL runs, so that
# neither FULL shares the 2 cores with it (the first one did, before)
say "waiting for both archives to take the WAL the cluster's creation wrote"
archives_caught_up

# one physical FULL through the platform: its id in ID, from the request until the completion the platform recorded
# (the catalog entry's completedAt, not the bench's next look) in FULL_SECS
lifeboat_full() {
  local t0; t0=$(now)
  ID=$(api -sf -X POST "$SCHEDULER/api/v1/backups" -H 'Content-Type: application/json' \
    -d "{\"sourceId\":\"$SOURCE\",\"type\":\"FULL\"}" | jq -r .backupId) || fail "backup request refused"
  status() { ENTRY=$(api -s "$CATALOG/api/v1/backups/$ID"); ST=$(jq -r '.status // ""' <<<"$ENTRY")
    [[ $ST == COMPLETED || $ST == FAILED ]]; }
  # a look is a signed-token request the catalog answers from its database (12-20 ms of its CPU): rare ones, since
  # the time comes from the entry
  AWAIT_SLEEP=2 await 3600 status || fail "backup $ID not finished within an hour"
  [[ $ST == COMPLETED ]] || fail "backup $ID $ST: $(jq -c . <<<"$ENTRY")"
  FULL_SECS=$(secs "$t0" "$(date -d "$(jq -r .completedAt <<<"$ENTRY")" +%s.%N)")
}
pgbackrest_full() { local t0; t0=$(now); "${PGBACKREST[@]}" backup --type=full; PGBR_FULL_SECS=$(secs "$t0" "$(now)"); }

# CPU_REPORT=1: each process's CPU-seconds while pg_basebackup (Lifeboat's FULLs) and pgbackrest ran, at the end
if [[ ${CPU_REPORT:-0} == 1 ]]; then
  "$ROOT/deploy/bench/cpu-by-process.py" record "$WORK/cpu.txt" & CPU_PID=$!
fi

# writes go on during every FULL, Lifeboat's and pgBackRest's alike: FULL_WRITE_RATE pgbench transactions a second
# (each updates a random account, teller and branch and adds a history row; 0: none)
if [[ ${FULL_WRITE_RATE:-50} -gt 0 ]]; then
  "${AS_PG[@]}" "$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -n -c 1 -R "${FULL_WRITE_RATE:-50}" -T 7200 bench \
    > "$WORK/pgbench-during-fulls.out" 2>&1 &
  WRITER=$!
  say "writing ${FULL_WRITE_RATE:-50} pgbench transactions a second during the FULLs (pid $WRITER)"
fi
writer_alive() { [[ -z $WRITER ]] || kill -0 "$WRITER" 2>/dev/null \
  || fail "the writer died during the FULLs: $(tail -3 "$WORK/pgbench-during-fulls.out")"; }

say "physical FULL through the platform"
lifeboat_full
FULL_BYTES=$(jq -r '.storedBytes // .sizeBytes // .uploadedBytes // "?"' <<<"$ENTRY")
say "FULL $ID COMPLETED in $FULL_SECS s"
say "pgbackrest backup --type=full"
pgbackrest_full
FULLS=$FULL_SECS; PGBR_FULLS=$PGBR_FULL_SECS
# FULL_ROUNDS > 1: the same worker's and pgBackRest's next FULLs, in turn; the restores start from the last of each
for ((round = 2; round <= ${FULL_ROUNDS:-1}; round++)); do
  archives_caught_up
  say "FULL round $round: Lifeboat, then pgBackRest"
  lifeboat_full; FULLS+=" $FULL_SECS"
  pgbackrest_full; PGBR_FULLS+=" $PGBR_FULL_SECS"
done
writer_alive
if [[ -n $WRITER ]]; then kill "$WRITER"; wait "$WRITER" 2>/dev/null || true; WRITER=; fi

say "pgbench, ${PGBENCH_CLIENTS:-4} clients for ${PGBENCH_SECONDS:-60} s, sampling the archive lag"
gauge() { curl -s "$METRICS" | awk -v s="source=\"$SOURCE\"" '/^lifeboat_wal_archive_lag_seconds\{/ && index($0, s) {print $NF}'; }
( while :; do v=$(gauge); [[ -n $v ]] && echo "$v"; sleep 0.5; done ) > "$WORK/lag.txt" &
SAMPLER=$!
"${AS_PG[@]}" "$BIN/pgbench" -h "$WORK" -p "$PORT" -U postgres -c "${PGBENCH_CLIENTS:-4}" -j 2 \
  -T "${PGBENCH_SECONDS:-60}" bench > "$WORK/pgbench.out" 2>&1 || fail "pgbench failed: $(tail -3 "$WORK/pgbench.out")"
kill "$SAMPLER"; SAMPLER=
TPS=$(grep -o 'tps = [0-9.]*' "$WORK/pgbench.out" | head -1 | grep -o '[0-9.]*')
WAL_BYTES=$("${PSQL[@]}" -c "select pg_current_wal_lsn() - '0/0'::pg_lsn")
read -r LAG_N LAG_P50 LAG_P99 LAG_MAX < <(sort -g "$WORK/lag.txt" | awk '{v[NR]=$1} END {if (NR == 0) {print 0, "-", "-", "-"; exit}
  p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]; printf "%d %.2f %.2f %.2f\n", NR, p50, p99, v[NR]}')

# both archives complete up to the same point
archives_caught_up

say "Lifeboat: RestoreCluster of $ID to latest into cluster '$CLUSTER' on 127.0.0.1:$CLUSTER_PORT"
api -sf -o /dev/null -X PUT "$RECOVERY/api/v1/targets/local-clusters" -H 'Content-Type: application/json' \
  -d "$(jq -nc --arg root "$CLUSTERS" '{kind: "cluster", dataRoot: $root, ports: "5433-5499"}')" \
  || fail "cannot register the cluster target local-clusters"
PLAN=$(jq -nc --arg b "$ID" --arg c "$CLUSTER" --argjson p "$CLUSTER_PORT" --arg src "$SOURCE" '{id: "pitr-bench",
  name: "PITR benchmark", rto: "PT1H", rpo: "PT24H", steps: [{kind: "RestoreCluster", sourceId: $src, backup: $b,
  target: "local-clusters", cluster: $c, port: $p, recoveryTarget: {kind: "LATEST"}, timeout: "PT1H"}]}')
api -sf -o /dev/null -X PUT "$RECOVERY/api/v1/plans/pitr-bench" -H 'Content-Type: application/json' -d "$PLAN" \
  || api -sf -o /dev/null -X POST "$RECOVERY/api/v1/plans" -H 'Content-Type: application/json' -d "$PLAN" \
  || fail "cannot write the plan pitr-bench"
t0=$(now)
RUN=$(api -sf -X POST "$RECOVERY/api/v1/plans/pitr-bench/runs" -H 'Content-Type: application/json' \
  -d '{"mode": "recovery"}' | jq -r .runId) || fail "cannot start the recovery run"
ended() { STATE=$(api -sf "$RECOVERY/api/v1/runs/$RUN") && [[ ! $(jq -r .status <<<"$STATE") =~ ^(RUNNING|COMPENSATING)$ ]]; }
await 3600 ended || fail "run $RUN not finished within an hour"
LIFEBOAT_RESTORE_SECS=$(secs "$t0" "$(now)")
[[ $(jq -r .status <<<"$STATE") == SUCCEEDED ]] || fail "run $RUN: $(jq -c . <<<"$STATE")"
PARTS=$(jq -c '.steps[0].details["restore-cluster"] // .steps[0].details // {}' <<<"$STATE")
RESTORED_LSN=$(PGPASSWORD=postgres "${AS_PG[@]}" "$BIN/psql" -h 127.0.0.1 -p "$CLUSTER_PORT" -U postgres -d postgres -qAt \
  -c "select pg_current_wal_lsn()" 2>/dev/null || echo "?")
"${AS_PG[@]}" "$BIN/pg_ctl" -D "$CLUSTERS/$CLUSTER" -m fast -w stop >/dev/null 2>&1 || true

say "pgBackRest: restore plus start until promoted, on 127.0.0.1:$PGBR_PORT"
mkdir -p "$PGBR_DATA"; chmod 700 "$PGBR_DATA"; [[ $(id -u) == 0 ]] && chown postgres:postgres "$PGBR_DATA"
t0=$(now)
"${PGBACKREST[@]}" restore --pg1-path="$PGBR_DATA" --type=default
"${AS_PG[@]}" "$BIN/pg_ctl" -D "$PGBR_DATA" -l "$WORK/pgbr-restore.log" -w -t 3600 \
  -o "-p $PGBR_PORT -c archive_mode=off -c unix_socket_directories=$WORK" start >/dev/null
promoted() { [[ $("${AS_PG[@]}" "$BIN/psql" -h "$WORK" -p "$PGBR_PORT" -U postgres -d postgres -qAt \
  -c "select not pg_is_in_recovery()" 2>/dev/null) == t ]]; }
await 3600 promoted || fail "pgBackRest's restored cluster was not promoted within an hour"
PGBR_RESTORE_SECS=$(secs "$t0" "$(now)")

rss() { local pid; pid=$(cat "$ROOT/.work/run/$1.pid" 2>/dev/null) || { echo "-"; return; }
  awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo "-"; }

echo
echo "cluster: $("${PSQL[@]}" -c "select pg_size_pretty(sum(pg_database_size(oid))) from pg_database"); pgbench $TPS tps for ${PGBENCH_SECONDS:-60} s; WAL written in all: $((WAL_BYTES / 1048576)) MiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-64s %10s %10s\n' "" "Lifeboat" "pgBackRest"
printf '%-64s %10s %10s\n' "physical FULL, wall (s): request until completed / backup" "${FULLS%% *}" "${PGBR_FULLS%% *}"
(( ${FULL_ROUNDS:-1} > 1 )) && echo "physical FULLs in order (s): Lifeboat $FULLS; pgBackRest $PGBR_FULLS"
printf '%-64s %10s %10s\n' "restore of the FULL + pgbench's WAL until promoted (s)" "$LIFEBOAT_RESTORE_SECS" "$PGBR_RESTORE_SECS"
echo "archive lag under pgbench (s), $LAG_N samples: p50 $LAG_P50, p99 $LAG_P99, max $LAG_MAX"
echo "Lifeboat FULL stored: $FULL_BYTES bytes; pgBackRest repository (${PGBR_REPO:-posix}): $(pgbackrest_repo_bytes) bytes"
echo "Lifeboat restore parts: $PARTS; restored cluster at $RESTORED_LSN, source ended at $END_LSN"
for s in snapshot-worker storage-worker scheduler-service recovery-coordinator catalog-service; do
  echo "peak RSS $s: $(rss "$s")"
done
if [[ -n $CPU_PID ]]; then
  echo "CPU-seconds by process while pg_basebackup (Lifeboat's FULLs), then pgbackrest (its FULLs, archive-push, restore) ran:"
  "$ROOT/deploy/bench/cpu-by-process.py" report "$WORK/cpu.txt" pg_basebackup pgbackrest | sed 's/^/  /'
fi
