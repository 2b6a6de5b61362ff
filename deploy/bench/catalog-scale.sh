#!/usr/bin/env bash
# Catalog at fleet scale, one run: p50/p99 of catalog-service's list endpoints and fleet view over HTTP with a
# viewer token, with SOURCES x PER_SOURCE backups (default 1,000 x 1,000 = one million) in its PostgreSQL.
#
# The rows go straight into the catalog's tables (deploy/bench/catalog-scale-seed.sql: a mix of statuses, types,
# methods and times, drills and recoveries, WAL archiver reports for the physical sources), not through Kafka: a
# million backups through the event path would take hours here. catalog-service runs on a database of its own,
# created and migrated (Flyway) by the service at start, seeded, analyzed, then measured. Its consumers read topics
# of the run's own (catalog-scale-<id>.*), never the platform's. A page of GET /api/v1/fleet asks scheduler-service
# once for the policies of the page's sources: a stand-in (python3 http.server on SCHEDULER_STANDIN_PORT) answers
# as scheduler-service does, with one enabled policy per source (RPO P1D, a next run), so the fleet's figures
# include that call over loopback.
#
# Every endpoint is first warmed with WARMUP requests (the service's JIT), then each measured with WARMUP unmeasured
# and REQUESTS measured requests from CONCURRENCY virtual threads
# (deploy/bench/AuthBench.java load: java.net.http, keep-alive): the first page, ?status=FAILED, ?type=FULL,
# ?sourceId=, a page DEEP pages down (reached by following nextCursor), the first page of /recoveries and
# ?mode=drill, and /fleet (its first page of 100, its fifth by cursor, its largest page, 200). Then the dashboard's first pages (/ui and /ui/sources/<id>), one load each; DASHBOARD_ONLY=1
# measures only those (deploy/bench/dashboard-load.sh).
#
# Needs Kafka and PostgreSQL of deploy/local/stack.sh (`deploy/local/stack.sh up kafka postgres`), a JDK 21+, curl,
# jq, psql, python3. Usage: deploy/bench/catalog-scale.sh
# Environment: KAFKA_PORT (9092), PG_PORT (25432), BENCH_PORT (18095), SCHEDULER_STANDIN_PORT (18096), SOURCES (1000),
# PER_SOURCE (1000), DEEP (500), REQUESTS (2000), WARMUP (300), CONCURRENCY (4), LIFEBOAT_JAVA_OPTS (-Xmx512m -XX:+UseZGC),
# BENCH_JAVA_OPTS (the load generator's JVM, -XX:+UseZGC),
# SKIP_BUILD=1 to use catalog-service as built, KEEP_DB=1 to keep the database (its name is printed);
# Maven reads extra arguments from MAVEN_ARGS (e.g. -Dmaven.repo.local=...).
# Everything it creates goes on exit: catalog-service and the stand-in (by pid), the database (unless KEEP_DB),
# the topics and the consumer group, the key pair and tokens, the work directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KAFKA_PORT=${KAFKA_PORT:-9092}; PG_PORT=${PG_PORT:-25432}
BENCH_PORT=${BENCH_PORT:-18095}; STANDIN_PORT=${SCHEDULER_STANDIN_PORT:-18096}
SOURCES=${SOURCES:-1000}; PER_SOURCE=${PER_SOURCE:-1000}; DEEP=${DEEP:-500}
REQUESTS=${REQUESTS:-2000}; WARMUP=${WARMUP:-300}; CONCURRENCY=${CONCURRENCY:-4}
JAVA_OPTS=${LIFEBOAT_JAVA_OPTS:--Xmx512m -XX:+UseZGC}   # as ./lifeboat starts catalog-service
RUN_ID=$(date +%s)-$$
DB=catalog_scale_${RUN_ID//-/_}
PREFIX=catalog-scale-$RUN_ID
GROUP=catalog-service-catalog-scale-$RUN_ID
NAME=catalog-scale
source "$ROOT/deploy/bench/catalog-bench-lib.sh"
bench_java
for tool in curl jq psql python3; do command -v "$tool" >/dev/null || fail "$tool is required"; done
for p in "$BENCH_PORT" "$STANDIN_PORT"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && fail "port 127.0.0.1:$p is in use (set BENCH_PORT / SCHEDULER_STANDIN_PORT)"
done
bench_servers

mkdir -p "$ROOT/.work"
WORK=$(mktemp -d "$ROOT/.work/catalog-scale.XXXXXX")
PIDS=(); DB_CREATED=0; TOPICS_CREATED=0
cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)) && [[ -s $WORK/catalog.log ]]; then { echo "--- end of catalog.log"; tail -20 "$WORK/catalog.log"; } >&2; fi
  bench_teardown
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  say "building catalog-service ($(git -C "$ROOT" rev-parse --short HEAD))"
  (cd "$ROOT" && ./mvnw -B -q -DskipTests package -pl catalog-service -am) || fail "build failed"
fi
[[ -f $ROOT/catalog-service/target/quarkus-app/quarkus-run.jar ]] || fail "catalog-service not built in $ROOT (run without SKIP_BUILD)"

# ---------------------------------------------------------------- tokens, database, topics, scheduler stand-in
(umask 077; mint catalog-scale lifeboat-viewer > "$WORK/viewer.token"; mint catalog-service lifeboat-viewer > "$WORK/service.token")
"${PSQL[@]}" -d postgres -c "create database $DB owner lifeboat"; DB_CREATED=1
"${BENCH[@]}" topics "127.0.0.1:$KAFKA_PORT" "$PREFIX" create; TOPICS_CREATED=1

mkdir -p "$WORK/standin/api/v1"
python3 - "$SOURCES" > "$WORK/standin/policies.json" <<'PY'
import json, sys, datetime
n = int(sys.argv[1])
nxt = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00Z")
print(json.dumps([{"id": "policy-db-%05d" % s, "sourceId": "db-%05d" % s, "type": "INCREMENTAL",
                   "schedule": "0 0 */6 * * ?", "nextRunAt": nxt, "rpo": "P1D", "enabled": True}
                  for s in range(1, n + 1)]))
PY
cat > "$WORK/standin/server.py" <<'PY'
import bisect, http.server, json, sys, urllib.parse
policies = sorted(json.load(open(sys.argv[2])), key=lambda p: (p["sourceId"], p["id"]))
keys = [p["sourceId"] for p in policies]
every = json.dumps(policies).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out as two writes: without it the body waits ~40 ms for an ACK
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/api/v1/policies":
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        q = dict(urllib.parse.parse_qsl(url.query))
        body = every
        if "sources" in q:   # every policy of the first N source ids after afterSourceId, as scheduler-service
            start = bisect.bisect_right(keys, q.get("afterSourceId", ""))
            page, ids = [], set()
            for p in policies[start:]:
                if p["sourceId"] not in ids and len(ids) == int(q["sources"]): break
                ids.add(p["sourceId"]); page.append(p)
            body = json.dumps(page).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$WORK/standin/server.py" "$STANDIN_PORT" "$WORK/standin/policies.json" & PIDS+=("$!")

# ---------------------------------------------------------------- catalog-service, seed
say "starting catalog-service on $BENCH_PORT, database $DB"
start_catalog "$ROOT/catalog-service/target/quarkus-app/quarkus-run.jar" "$BENCH_PORT" "$WORK/catalog.log" \
  SCHEDULER_URL="http://127.0.0.1:$STANDIN_PORT" \
  LIFEBOAT_JWT_PUBLIC_KEY_LOCATION="file:$WORK/jwt/public.pem" LIFEBOAT_SERVICE_TOKEN_FILE="$WORK/service.token"
say "seeding $SOURCES sources x $PER_SOURCE backups into $DB (straight into the tables)"
T0=$(date +%s)
"${PSQL[@]}" -d "$DB" -v sources="$SOURCES" -v per_source="$PER_SOURCE" -f "$ROOT/deploy/bench/catalog-scale-seed.sql"
echo "   $("${PSQL[@]}" -d "$DB" -c "select count(*) || ' backups, ' || count(distinct source_id) || ' sources' from catalog.backup") in $(($(date +%s) - T0)) s"

# ---------------------------------------------------------------- measure
BASE=http://127.0.0.1:$BENCH_PORT
AUTH=(-H "Authorization: Bearer $(cat "$WORK/viewer.token")")
say "following nextCursor $DEEP pages down (size 20)"
CURSOR=""
for ((i = 1; i < DEEP; i++)); do
  CURSOR=$(curl -sf "${AUTH[@]}" "$BASE/api/v1/backups?size=20${CURSOR:+&cursor=$CURSOR}" | jq -r '.nextCursor // empty')
  [[ -n $CURSOR ]] || fail "page $i has no nextCursor"
done
declare -a NAMES URLS
add() { NAMES+=("$1"); URLS+=("$2"); }
add "backups, first page" "/api/v1/backups?size=20"
add "backups ?status=FAILED" "/api/v1/backups?size=20&status=FAILED"
add "backups ?type=FULL" "/api/v1/backups?size=20&type=FULL"
add "backups ?sourceId=" "/api/v1/backups?size=20&sourceId=db-$(printf '%05d' $((SOURCES / 2)))"
add "backups, page $DEEP by cursor" "/api/v1/backups?size=20&cursor=$CURSOR"
add "recoveries, first page" "/api/v1/recoveries?size=20"
add "recoveries ?mode=drill" "/api/v1/recoveries?size=20&mode=drill"
# the fleet a page at a time: every source once, each with its RPO, following nextCursor; the fifth page measured too
say "following the fleet's nextCursor (size 100) to its end"
SOURCES_SEEN=0; FLEET_CURSOR=""; FLEET_PAGE5=""; FLEET_PAGES=0
while :; do
  PAGE=$(curl -sf "${AUTH[@]}" "$BASE/api/v1/fleet?size=100${FLEET_CURSOR:+&cursor=$FLEET_CURSOR}") || fail "a page of the fleet failed"
  SOURCES_SEEN=$((SOURCES_SEEN + $(jq '[.sources[] | select(.rpoSeconds != null)] | length' <<<"$PAGE")))
  FLEET_PAGES=$((FLEET_PAGES + 1))
  FLEET_CURSOR=$(jq -r '.nextCursor // empty' <<<"$PAGE")
  ((FLEET_PAGES == 4)) && FLEET_PAGE5=$FLEET_CURSOR
  [[ -n $FLEET_CURSOR ]] || break
done
[[ $SOURCES_SEEN == "$SOURCES" ]] || fail "the fleet's pages show $SOURCES_SEEN sources with their RPO, expected $SOURCES"
add "fleet, first page (100 of $SOURCES sources)" "/api/v1/fleet?size=100"
[[ -n $FLEET_PAGE5 ]] && add "fleet, page 5 by cursor" "/api/v1/fleet?size=100&cursor=$FLEET_PAGE5"
add "fleet, largest page (200 sources)" "/api/v1/fleet?size=200"
# what a fleet page waits for at scheduler-service, alone: the stand-in's answer for a page of 100
add "(stand-in alone: policies, 101 src)" "http://127.0.0.1:$STANDIN_PORT/api/v1/policies?sources=101"
# the dashboard's first pages as a browser signed in as a viewer loads them (signed in through the sign-in form, whose
# session cookie names a session held by catalog-service): the HTML of the fleet overview and of one source's page, the
# first request after start and the one after it
DASH_COOKIES="$WORK/dashboard.cookies"
curl -sf -o /dev/null -c "$DASH_COOKIES" -H "Origin: $BASE" --data-urlencode "token@$WORK/viewer.token" \
  "$BASE/ui/sign-in" || fail "signing in to the dashboard with $WORK/viewer.token failed"
page_ms() {
  curl -s -o /dev/null -w '%{http_code} %{time_total}' -b "$DASH_COOKIES" "$BASE$1" \
    | awk -v u="$1" '$1 != 200 { print "GET " u " answered " $1 > "/dev/stderr"; exit 1 } { printf "%.0f", $2 * 1000 }'
}
DASH_SOURCE=db-$(printf '%05d' $((SOURCES / 2)))
DASH_FLEET_FIRST=$(page_ms /ui) || fail "the dashboard's fleet page failed"
DASH_FLEET=$(page_ms /ui) || fail "the dashboard's fleet page failed"
DASH_SOURCE_FIRST=$(page_ms "/ui/sources/$DASH_SOURCE") || fail "the dashboard's source page failed"
DASH_SOURCE_MS=$(page_ms "/ui/sources/$DASH_SOURCE") || fail "the dashboard's source page failed"
declare -a OUT
[[ ${DASHBOARD_ONLY:-0} == 1 ]] && NAMES=()
# a service answering all day has compiled every path: each endpoint gets WARMUP requests before any is measured, so
# the first one measured does not carry the JIT's work for the others
url() { [[ $1 == http* ]] && echo "$1" || echo "$BASE$1"; }   # an absolute URL is measured as it is
for i in "${!NAMES[@]}"; do
  say "warming ${NAMES[$i]}: $WARMUP requests"
  "${BENCH[@]}" load "$(url "${URLS[$i]}")" "$WORK/viewer.token" "$WARMUP" 0 "$CONCURRENCY" >/dev/null \
    || fail "warm-up of ${URLS[$i]} failed"
done
for i in "${!NAMES[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$(url "${URLS[$i]}")")
  [[ $code == 200 ]] || fail "GET ${URLS[$i]} answered $code"
  say "measuring ${NAMES[$i]}: $WARMUP warm-up + $REQUESTS requests, concurrency $CONCURRENCY"
  OUT[$i]=$("${BENCH[@]}" load "$(url "${URLS[$i]}")" "$WORK/viewer.token" "$REQUESTS" "$WARMUP" "$CONCURRENCY") \
    || fail "load run of ${URLS[$i]} failed"
done

echo
echo "catalog-service $(git -C "$ROOT" rev-parse --short HEAD), $SOURCES x $PER_SOURCE backups; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
(( ${#NAMES[@]} > 0 )) && printf '%-34s %9s %9s %9s\n' endpoint "p50 ms" "p99 ms" "req/s"
for i in "${!NAMES[@]}"; do
  read -r p50 p99 rps <<<"${OUT[$i]}"
  printf '%-34s %9s %9s %9s\n' "${NAMES[$i]}" "$p50" "$p99" "$rps"
done
echo "dashboard, one load each (first request after start, then the next):"
printf '%-34s %9s %9s\n' page "first ms" "next ms"
printf '%-34s %9s %9s\n' "fleet overview ($SOURCES sources)" "$DASH_FLEET_FIRST" "$DASH_FLEET"
printf '%-34s %9s %9s\n' "source $DASH_SOURCE ($PER_SOURCE backups)" "$DASH_SOURCE_FIRST" "$DASH_SOURCE_MS"
[[ ${KEEP_DB:-0} == 1 ]] && echo "database kept: $DB"
exit 0
