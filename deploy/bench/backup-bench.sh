#!/usr/bin/env bash
# Backup benchmark, one run: a FULL backup through Lifeboat next to a bare pg_dump (directory format, to local
# disk) and a bare pg_dump | zstd pipe of the same database, plus the peak RSS of snapshot-worker while it works.
# Needs the platform running (./lifeboat up). Usage: deploy/bench/backup-bench.sh SCALE [SCALE...]
# (scale 60 is the quick-start database, about 70 MB; scale 1000 is about 1 GB)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$ROOT/.work
PG_PORT=${PG_PORT:-55432}
export PGPASSWORD=postgres
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
SNAP_PID=$(cat "$WORK/run/snapshot-worker.pid")
OUT=$WORK/bench; mkdir -p "$OUT" "$WORK/secrets"
# the worker reads the source password through a file reference, as a mounted secret would be read
SECRET=$WORK/secrets/bench-pg-password; (umask 077; echo postgres > "$SECRET")
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

printf '%-8s %-10s %-12s %-12s %-14s %-12s %-12s %-14s\n' scale db_size lifeboat_s pg_dump_s pg_dump+zstd_s archive_MB zstd_pipe_MB worker_peak_rss
for SCALE in "$@"; do
  DB=bench_$SCALE
  if [[ -z $("${PSQL[@]}" -d postgres -c "select 1 from pg_database where datname='$DB'") ]]; then
    "${PSQL[@]}" -d postgres -c "create database $DB"
    "${PSQL[@]}" -d "$DB" -v scale="$SCALE" -f "$ROOT/deploy/local/sample-db.sql" >/dev/null
  fi
  SIZE=$("${PSQL[@]}" -d "$DB" -c "select pg_size_pretty(pg_database_size('$DB'))")
  curl -sf -X PUT "http://127.0.0.1:8081/api/v1/sources/$DB" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$DB\",\"host\":\"127.0.0.1\",\"port\":$PG_PORT,\"database\":\"$DB\",\"username\":\"postgres\",\"passwordRef\":\"file:$SECRET\"}" >/dev/null

  # Lifeboat: POST -> COMPLETED in the catalog, sampling snapshot-worker's RSS meanwhile
  PEAK=0
  T0=$(now)
  ID=$(curl -sf -X POST http://127.0.0.1:8081/api/v1/backups -H 'Content-Type: application/json' \
        -d "{\"sourceId\":\"$DB\",\"type\":\"FULL\",\"requestedBy\":\"bench\"}" | jq -r .backupId)
  while :; do
    RSS=$(awk '/VmRSS/{print $2}' "/proc/$SNAP_PID/status"); (( RSS > PEAK )) && PEAK=$RSS
    ST=$(curl -s "http://127.0.0.1:8085/api/v1/backups/$ID" | jq -r '.status // ""')
    [[ $ST == COMPLETED || $ST == FAILED ]] && break
    sleep 0.2
  done
  T1=$(now)
  [[ $ST == COMPLETED ]] || { echo "backup $ID failed"; exit 1; }
  ARCHIVE=$(curl -s "http://127.0.0.1:8085/api/v1/backups/$ID" | jq -r '.sizeBytes')

  rm -rf "$OUT/dump"
  T2=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=directory --compress=0 --jobs=2 -f "$OUT/dump" "$DB"; T3=$(now)
  rm -rf "$OUT/dump"
  T4=$(now); pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres --format=custom --compress=0 "$DB" | zstd -q -3 > "$OUT/pipe.zst"; T5=$(now)
  PIPE=$(stat -c %s "$OUT/pipe.zst"); rm -f "$OUT/pipe.zst"

  printf '%-8s %-10s %-12s %-12s %-14s %-12s %-12s %-14s\n' "$SCALE" "${SIZE// /}" "$(secs "$T0" "$T1")" \
    "$(secs "$T2" "$T3")" "$(secs "$T4" "$T5")" "$((ARCHIVE / 1048576))" "$((PIPE / 1048576))" "$((PEAK / 1024)) MB"
done

# Chain figures (CHAIN=1): on the last database, INCREMENTAL after a contiguous 1% change and DIFFERENTIAL after
# another, with wall time and bytes uploaded next to the FULL above.
if [[ ${CHAIN:-0} == 1 ]]; then
  backup() {
    local t0 id st; t0=$(now)
    id=$(curl -sf -X POST http://127.0.0.1:8081/api/v1/backups -H 'Content-Type: application/json' \
          -d "{\"sourceId\":\"$DB\",\"type\":\"$1\",\"requestedBy\":\"bench\"}" | jq -r .backupId)
    while :; do
      st=$(curl -s "http://127.0.0.1:8085/api/v1/backups/$id" | jq -r '.status // ""')
      [[ $st == COMPLETED || $st == FAILED ]] && break; sleep 0.2
    done
    printf '%-13s %-8s %8s s  uploaded %12s bytes  read %12s bytes\n' "$1" "$st" "$(secs "$t0" "$(now)")" \
      "$(curl -s "http://127.0.0.1:8085/api/v1/backups/$id" | jq -r .transfer.bytesUploaded)" \
      "$(curl -s "http://127.0.0.1:8085/api/v1/backups/$id" | jq -r .transfer.bytesRead)"
  }
  change() {   # rewrite the order lines of a contiguous 1% of the orders
    "${PSQL[@]}" -d "$DB" -c "update shop.order_items set quantity = quantity + 1 where order_id between
      (select min(id) + (max(id) - min(id)) * $1 / 100 from shop.orders) and
      (select min(id) + (max(id) - min(id)) * ($1 + 1) / 100 from shop.orders)"
  }
  echo "chain on $DB:"
  backup FULL; change 10; backup INCREMENTAL; change 50; backup DIFFERENTIAL
fi
