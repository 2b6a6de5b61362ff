#!/usr/bin/env bash
# Backup benchmark, one run: a FULL backup through Lifeboat next to a bare pg_dump (directory format, to local
# disk) and a bare pg_dump | zstd pipe of the same database, plus the peak RSS of snapshot-worker while it works.
# Needs the platform running (./lifeboat up). Usage: deploy/bench/backup-bench.sh SCALE [SCALE...]
# (scale 60 is the quick-start database, about 70 MB; scale 1000 is about 1 GB; one database bench_<scale> each)
#
# CHAIN=1 adds, on the last database: INCREMENTAL and DIFFERENTIAL after 1% changes; `./lifeboat dev restore` of the
# FULL and of the DIFFERENTIAL into new databases, each compared table by table (row count + content hash) with
# the source as it was when that backup was taken; a bare pg_dump -Fd / pg_restore of the same database; and
# pgBackRest (PGBACKREST=0 skips it) backing up and restoring the whole cluster; then one results table.
# FINGERPRINTS=both times the FULL backup of each database once more without table fingerprints (snapshot-worker
# restarted with LIFEBOAT_TABLE_FINGERPRINTS=false, from its own command line and environment, then restarted as it
# was), and prints what recording them (row count + content hash of every table, for TABLE_MATCHES_SOURCE) costs.
# Ports follow ./lifeboat and deploy/local/stack.sh: PG_PORT, SCHEDULER_PORT, CATALOG_PORT; PGBR_PORT
# (PG_PORT + 1) for the cluster pgBackRest restores. RESTORE_JOBS (2) for every pg_restore.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$ROOT/.work
PG_PORT=${PG_PORT:-25432}
SCHEDULER=http://127.0.0.1:${SCHEDULER_PORT:-8081}
CATALOG=http://127.0.0.1:${CATALOG_PORT:-8085}
# every API call carries the admin token of the local run (./lifeboat up mints it into .work/tokens)
TOKEN_FILE=${LIFEBOAT_TOKEN_FILE:-$ROOT/.work/tokens/admin.token}
[[ -s $TOKEN_FILE ]] || { echo "no token at $TOKEN_FILE: start the platform with ./lifeboat up" >&2; exit 1; }
api() { curl -H "Authorization: Bearer $(cat "$TOKEN_FILE")" "$@"; }
RESTORE_JOBS=${RESTORE_JOBS:-2}
export PGPASSWORD=postgres PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
SNAP_PID=$(cat "$WORK/run/snapshot-worker.pid")
OUT=$WORK/bench; mkdir -p "$OUT" "$WORK/secrets"
# the worker reads the source password through a file reference, as a mounted secret would be read
# inside the secret directory ./lifeboat gives the services (LIFEBOAT_SECRETS_DIRECTORIES)
SECRET=$WORK/secrets/sources/bench-pg-password; (umask 077; mkdir -p "${SECRET%/*}"; echo postgres > "$SECRET")
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

# Restarts snapshot-worker with the command line, directory and environment it runs with now, plus VAR=value
# arguments; waits until it is ready again.
restart_worker() {
  local pid=$SNAP_PID env=() cmd=() dir port
  mapfile -d '' env < "/proc/$pid/environ"; mapfile -d '' cmd < "/proc/$pid/cmdline"; dir=$(readlink "/proc/$pid/cwd")
  port=$(printf '%s\n' "${env[@]}" | sed -n 's/^HTTP_PORT=//p'); port=${port:-8082}
  kill "$pid"; for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  (cd "$dir" && env -i "${env[@]}" "$@" nohup "${cmd[@]}" >>"$WORK/logs/snapshot-worker.log" 2>&1 &
   echo $! >"$WORK/run/snapshot-worker.pid")
  SNAP_PID=$(cat "$WORK/run/snapshot-worker.pid")
  for ((i = 0; i < 240; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/q/health/ready") == 200 ]] && return 0
    sleep 0.5
  done
  echo "snapshot-worker not ready after restart; log: $WORK/logs/snapshot-worker.log" >&2; exit 1
}
# One FULL backup of $DB through Lifeboat: FULL_SECS, FULL_ID, FULL_PEAK (KiB) of snapshot-worker meanwhile.
timed_full() {
  local t0 st rss; FULL_PEAK=0; t0=$(now)
  FULL_ID=$(api -sf -X POST $SCHEDULER/api/v1/backups -H 'Content-Type: application/json' \
        -d "{\"sourceId\":\"$DB\",\"type\":\"FULL\"}" | jq -r .backupId)
  while :; do
    rss=$(awk '/VmRSS/{print $2}' "/proc/$SNAP_PID/status"); (( rss > FULL_PEAK )) && FULL_PEAK=$rss
    st=$(api -s "$CATALOG/api/v1/backups/$FULL_ID" | jq -r '.status // ""')
    [[ $st == COMPLETED || $st == FAILED ]] && break
    sleep 0.2
  done
  FULL_SECS=$(secs "$t0" "$(now)")
  [[ $st == COMPLETED ]] || { echo "backup $FULL_ID failed"; exit 1; }
}

printf '%-8s %-10s %-12s %-12s %-14s %-12s %-12s %-14s\n' scale db_size lifeboat_s pg_dump_s pg_dump+zstd_s archive_MB zstd_pipe_MB worker_peak_rss
for SCALE in "$@"; do
  DB=bench_$SCALE
  if [[ -z $("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname='$DB'") ]]; then
    "${PSQL[@]}" -d postgres -c "create database $DB"
    "${PSQL[@]}" -d "$DB" -v scale="$SCALE" -f "$ROOT/deploy/local/sample-db.sql" >/dev/null
  fi
  SIZE=$("${PSQL[@]}" -d "$DB" -c "select pg_size_pretty(pg_database_size('$DB'))")
  api -sf -X PUT "$SCHEDULER/api/v1/sources/$DB" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$DB\",\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"database\":\"$DB\",\"username\":\"postgres\",\"passwordRef\":\"file:$SECRET\"}" >/dev/null

  # Lifeboat: POST -> COMPLETED in the catalog, sampling snapshot-worker's RSS meanwhile
  timed_full; ID=$FULL_ID PEAK=$FULL_PEAK LIFEBOAT_S=$FULL_SECS
  ARCHIVE=$(api -s "$CATALOG/api/v1/backups/$ID" | jq -r '.sizeBytes')

  rm -rf "$OUT/dump"
  T2=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=directory --compress=0 --jobs=2 -f "$OUT/dump" "$DB"; T3=$(now)
  rm -rf "$OUT/dump"
  T4=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=custom --compress=0 "$DB" | zstd -q -3 > "$OUT/pipe.zst"; T5=$(now)
  PIPE=$(stat -c %s "$OUT/pipe.zst"); rm -f "$OUT/pipe.zst"

  printf '%-8s %-10s %-12s %-12s %-14s %-12s %-12s %-14s\n' "$SCALE" "${SIZE// /}" "$LIFEBOAT_S" \
    "$(secs "$T2" "$T3")" "$(secs "$T4" "$T5")" "$((ARCHIVE / 1048576))" "$((PIPE / 1048576))" "$((PEAK / 1024)) MB"
  if [[ ${FINGERPRINTS:-} == both ]]; then
    restart_worker LIFEBOAT_TABLE_FINGERPRINTS=false
    timed_full; OFF_S=$FULL_SECS
    restart_worker
    printf '  table fingerprints: FULL with %s s, without %s s (LIFEBOAT_TABLE_FINGERPRINTS=false): %s s for recording them\n' \
      "$LIFEBOAT_S" "$OFF_S" "$(awk -v a="$LIFEBOAT_S" -v b="$OFF_S" 'BEGIN{printf "%+.1f", a-b}')"
  fi
done

# Chain figures (CHAIN=1): on the last database, INCREMENTAL after a contiguous 1% change and DIFFERENTIAL after
# another, with wall time and bytes uploaded next to the FULL above; then restores and pgBackRest (see the header).
[[ ${CHAIN:-0} == 1 ]] || exit 0

# Everything below creates databases, directories and possibly a second cluster: all of it goes on exit.
CREATED_DBS=(); PGBR_DIR=$OUT/pgbackrest; PGBR_STARTED=""; ARCHIVE_SET=0
PG_DIR=$(cat "$WORK/stack/pg/datadir" 2>/dev/null || true)
PG_RUN=(); [[ $(id -u) == 0 ]] && PG_RUN=(runuser -u postgres --)
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
cleanup() {
  local rc=$?
  set +e
  if [[ -n $PGBR_STARTED ]]; then "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PGBR_STARTED" -m immediate -w stop >/dev/null 2>&1; fi
  if [[ $ARCHIVE_SET == 1 ]]; then archive_off; fi
  for d in "${CREATED_DBS[@]}"; do "${PSQL[@]}" -d postgres -c "drop database if exists $d" 2>/dev/null; done
  rm -rf "$OUT/dump" "$PGBR_DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "bench: $*" >&2; exit 1; }

# Row count and content hash of every table of the database's non-system schemas, one line per table (the same
# oracle as test-support's TableFingerprint). PORT optional.
fingerprint() {
  local db=$1 port=${2:-$PG_PORT} rel sql=""
  for rel in $(psql -h 127.0.0.1 -p "$port" -U postgres -qAt -d "$db" -c "select format('%I.%I', schemaname, tablename)
      from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1"); do
    sql+="select '$rel', count(*), md5(coalesce(string_agg(h, '' order by h), '')) from (select md5(t::text) as h from only $rel as t) s;"
  done
  psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt -F ' ' -d "$db" -c "$sql"
}
same() {   # same NAME EXPECTED_FILE DB [PORT]
  if diff <(fingerprint "$3" "${4:-}") "$2" >/dev/null; then echo "$1: equal to the source ($(wc -l < "$2") tables, row counts + content hash)"; return 0; fi
  echo "$1: DIFFERS from the source:"; diff <(fingerprint "$3" "${4:-}") "$2" | head -20; return 1
}

declare -A TIME BYTES READ IDS
backup() {
  local t0 id st entry; t0=$(now)
  id=$(api -sf -X POST $SCHEDULER/api/v1/backups -H 'Content-Type: application/json' \
        -d "{\"sourceId\":\"$DB\",\"type\":\"$1\"}" | jq -r .backupId)
  while :; do
    st=$(api -s "$CATALOG/api/v1/backups/$id" | jq -r '.status // ""')
    [[ $st == COMPLETED || $st == FAILED ]] && break; sleep 0.2
  done
  TIME[$1]=$(secs "$t0" "$(now)")
  entry=$(api -s "$CATALOG/api/v1/backups/$id")
  BYTES[$1]=$(jq -r .transfer.bytesUploaded <<<"$entry"); READ[$1]=$(jq -r .transfer.bytesRead <<<"$entry"); IDS[$1]=$id
  printf '%-13s %-8s %8s s  uploaded %12s bytes  read %12s bytes\n' "$1" "$st" "${TIME[$1]}" "${BYTES[$1]}" "${READ[$1]}"
  [[ $st == COMPLETED ]] || fail "$1 backup $id failed: $(jq -r .failure.reason <<<"$entry")"
}
change() {   # rewrite the order lines of a contiguous 1% of the orders
  "${PSQL[@]}" -d "$DB" -c "update shop.order_items set quantity = quantity + 1 where order_id between
    (select min(id) + (max(id) - min(id)) * $1 / 100 from shop.orders) and
    (select min(id) + (max(id) - min(id)) * ($1 + 1) / 100 from shop.orders)"
}
echo "chain on $DB:"
backup FULL; fingerprint "$DB" > "$OUT/$DB.full.fp"
change 10; backup INCREMENTAL
change 50; backup DIFFERENTIAL; fingerprint "$DB" > "$OUT/$DB.diff.fp"

# Lifeboat restore: `./lifeboat dev restore` (catalog -> RestoreCommand fetch+decrypt -> pg_restore) of FULL and DIFFERENTIAL
declare -A RT_TOTAL RT_FETCH RT_PGR
lifeboat_restore() {   # TYPE EXPECTED_FP
  local target=${DB}_restored_$(tr '[:upper:]' '[:lower:]' <<<"$1") t0 log
  "${PSQL[@]}" -d postgres -c "drop database if exists $target"; CREATED_DBS+=("$target")
  log=$OUT/restore-$1.log
  t0=$(now)
  RESTORE_JOBS=$RESTORE_JOBS "$ROOT/lifeboat" dev restore "${IDS[$1]}" "$target" > "$log" 2>&1 || { cat "$log"; fail "lifeboat restore of $1 failed"; }
  RT_TOTAL[$1]=$(secs "$t0" "$(now)")
  RT_FETCH[$1]=$(sed -n 's/^fetch+decrypt \([0-9.]*\) s (\([0-9.]*\) s after.*/\1 s (in-JVM \2)/p' "$log"); RT_PGR[$1]=$(sed -n 's/.*pg_restore (--jobs=[0-9]*) \([0-9.]*\) s.*/\1/p' "$log")
  echo "lifeboat restore $1: fetch+decrypt ${RT_FETCH[$1]}, pg_restore ${RT_PGR[$1]} s, total ${RT_TOTAL[$1]} s (with the JVM start)"
  same "  restored $1" "$2" "$target" || fail "restored $1 differs from the source"
  "${PSQL[@]}" -d postgres -c "drop database $target"
}
lifeboat_restore FULL "$OUT/$DB.full.fp"
lifeboat_restore DIFFERENTIAL "$OUT/$DB.diff.fp"

# Bare pg_dump -Fd (uncompressed, 2 jobs) and pg_restore --jobs of it into a new database
BARE=${DB}_restored_bare
rm -rf "$OUT/dump"
T0=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=directory --compress=0 --jobs=2 -f "$OUT/dump" "$DB"; T1=$(now)
"${PSQL[@]}" -d postgres -c "drop database if exists $BARE" -c "create database $BARE"; CREATED_DBS+=("$BARE")
T2=$(now); pg_restore -h 127.0.0.1 -p "$PG_PORT" -U postgres --jobs="$RESTORE_JOBS" --exit-on-error -d "$BARE" "$OUT/dump"; T3=$(now)
DUMP_S=$(secs "$T0" "$T1"); PGR_S=$(secs "$T2" "$T3"); DUMP_B=$(du -sb "$OUT/dump" | cut -f1)
echo "bare pg_dump -Fd --jobs=2 ${DUMP_S} s ($((DUMP_B / 1048576)) MB), pg_restore --jobs=$RESTORE_JOBS ${PGR_S} s"
same "  bare restore" "$OUT/$DB.diff.fp" "$BARE" || fail "bare pg_restore differs from the source"
"${PSQL[@]}" -d postgres -c "drop database $BARE"; rm -rf "$OUT/dump"

# pgBackRest: the whole cluster, to a posix repository on local disk (zstd, 2 processes), restored into a second
# data directory started on PGBR_PORT. WAL archiving is switched on for the run (archive_mode needs a restart of
# the cluster) and switched off again at the end.
PGBR=(); PGBR_B=""; PGBR_R=""; PGBR_STORED=""; PGBR_DBSIZE=""
archive_off() {
  "${PSQL[@]}" -d postgres -c "alter system reset archive_command" -c "alter system reset archive_mode"
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w restart -l "$PG_DIR/postgres.log" >/dev/null
  ARCHIVE_SET=0
}
if [[ ${PGBACKREST:-1} == 1 ]]; then
  [[ -n $PG_DIR && -f $PG_DIR/data/PG_VERSION ]] || fail "no local cluster under $WORK/stack/pg (pgBackRest needs the deploy/local/stack.sh cluster)"
  if ! command -v pgbackrest >/dev/null; then
    echo "installing pgbackrest (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbackrest >/dev/null || fail "apt-get install pgbackrest failed"
  fi
  PGBR_PORT=${PGBR_PORT:-$((PG_PORT + 1))}
  (exec 3<>"/dev/tcp/127.0.0.1/$PGBR_PORT") 2>/dev/null && fail "port $PGBR_PORT is in use (set PGBR_PORT)"
  SOCK=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -d postgres -c "show unix_socket_directories")
  rm -rf "$PGBR_DIR"; mkdir -p "$PGBR_DIR"/{repo,log,lock,spool}
  CONF=$PGBR_DIR/pgbackrest.conf
  cat > "$CONF" <<CONF
[global]
repo1-type=posix
repo1-path=$PGBR_DIR/repo
repo1-retention-full=1
compress-type=zst
process-max=2
start-fast=y
log-path=$PGBR_DIR/log
lock-path=$PGBR_DIR/lock
spool-path=$PGBR_DIR/spool
log-level-console=warn

[bench]
pg1-path=$PG_DIR/data
pg1-port=$PG_PORT
pg1-socket-path=$SOCK
CONF
  [[ $(id -u) == 0 ]] && chown -R postgres:postgres "$PGBR_DIR"
  PGBR=("${PG_RUN[@]}" pgbackrest "--config=$CONF" --stanza=bench)
  "${PSQL[@]}" -d postgres -c "alter system set archive_mode = on" \
    -c "alter system set archive_command = 'pgbackrest --config=$CONF --stanza=bench archive-push %p'"
  ARCHIVE_SET=1
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w restart -l "$PG_DIR/postgres.log" >/dev/null
  "${PGBR[@]}" stanza-create >/dev/null || fail "pgbackrest stanza-create failed (log: $PGBR_DIR/log)"
  "${PGBR[@]}" check >/dev/null || fail "pgbackrest check failed (log: $PGBR_DIR/log)"
  T0=$(now); "${PGBR[@]}" --type=full backup || fail "pgbackrest backup failed (log: $PGBR_DIR/log)"; T1=$(now)
  PGBR_B=$(secs "$T0" "$T1")
  INFO=$("${PGBR[@]}" --output=json info)
  PGBR_STORED=$(jq '.[0].backup[-1].info.repository.delta' <<<"$INFO"); PGBR_DBSIZE=$(jq '.[0].backup[-1].info.size' <<<"$INFO")
  REPO_DU=$(du -sb "$PGBR_DIR/repo" | cut -f1)
  echo "pgbackrest full backup ${PGBR_B} s: cluster $((PGBR_DBSIZE / 1048576)) MB, stored $((PGBR_STORED / 1048576)) MB, repository on disk $((REPO_DU / 1048576)) MB (with WAL)"

  # restore into a new data directory; timed until the restored cluster has replayed its WAL and accepts connections
  NEW=$PGBR_DIR/restored
  "${PG_RUN[@]}" mkdir -m 700 "$NEW"
  T0=$(now)
  "${PGBR[@]}" --pg1-path="$NEW" --archive-mode=off restore || fail "pgbackrest restore failed (log: $PGBR_DIR/log)"
  T1=$(now)
  PGBR_STARTED=$NEW
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$NEW" -l "$PGBR_DIR/restored.log" -w -t 600 \
    -o "-p $PGBR_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGBR_DIR" start >/dev/null \
    || { tail -20 "$PGBR_DIR/restored.log"; fail "the restored cluster did not start"; }
  for ((i = 0; i < 6000; i++)); do
    [[ $(psql -h 127.0.0.1 -p "$PGBR_PORT" -U postgres -qAt -d postgres -c "select not pg_is_in_recovery()" 2>/dev/null) == t ]] && break
    sleep 0.1
  done
  T2=$(now)
  PGBR_FILES=$(secs "$T0" "$T1"); PGBR_R=$(secs "$T0" "$T2")
  echo "pgbackrest restore: files ${PGBR_FILES} s, accepting connections (recovered, promoted) after ${PGBR_R} s"
  same "  pgbackrest restored $DB" "$OUT/$DB.diff.fp" "$DB" "$PGBR_PORT" || fail "pgBackRest's restored $DB differs from the source"
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$NEW" -m fast -w stop >/dev/null; PGBR_STARTED=""
  archive_off
fi

mb() { awk -v b="$1" 'BEGIN{printf "%.1f MB", b/1048576}'; }
echo
echo "results on $DB ($SIZE; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '  %-44s %10s  %s\n' "what" "wall s" "bytes"
printf '  %-44s %10s  %s\n' "Lifeboat FULL backup" "${TIME[FULL]}" "uploaded $(mb "${BYTES[FULL]}")"
printf '  %-44s %10s  %s\n' "Lifeboat INCREMENTAL backup (1% changed)" "${TIME[INCREMENTAL]}" "uploaded $(mb "${BYTES[INCREMENTAL]}")"
printf '  %-44s %10s  %s\n' "Lifeboat DIFFERENTIAL backup (2% changed)" "${TIME[DIFFERENTIAL]}" "uploaded $(mb "${BYTES[DIFFERENTIAL]}")"
for t in FULL DIFFERENTIAL; do
  printf '  %-44s %10s  %s\n' "Lifeboat restore $t (jobs=$RESTORE_JOBS)" "${RT_TOTAL[$t]}" "fetch+decrypt ${RT_FETCH[$t]}, pg_restore ${RT_PGR[$t]} s"
done
printf '  %-44s %10s  %s\n' "pg_dump -Fd --jobs=2 (uncompressed)" "$DUMP_S" "$(mb "$DUMP_B") on local disk"
printf '  %-44s %10s  %s\n' "pg_restore --jobs=$RESTORE_JOBS of it" "$PGR_S" ""
if [[ -n $PGBR_B ]]; then
  printf '  %-44s %10s  %s\n' "pgBackRest full (zst, process-max=2, posix)" "$PGBR_B" "stored $(mb "$PGBR_STORED") of a $(mb "$PGBR_DBSIZE") cluster"
  printf '  %-44s %10s  %s\n' "pgBackRest restore + recovery until ready" "$PGBR_R" "files alone ${PGBR_FILES} s"
fi
