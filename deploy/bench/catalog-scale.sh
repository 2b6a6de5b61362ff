#!/usr/bin/env bash
# Catalog at fleet scale, one run: p50/p99 of catalog-service's list endpoints and fleet view over HTTP with a
# viewer token, with SOURCES x PER_SOURCE backups (default 1,000 x 1,000 = one million) in its PostgreSQL.
#
# The rows go straight into the catalog's tables (deploy/bench/catalog-scale-seed.sql: a mix of statuses, types,
# methods and times, drills and recoveries, WAL archiver reports for the physical sources), not through Kafka: a
# million backups through the event path would take hours here. catalog-service runs on a database of its own,
# created and migrated (Flyway) by the service at start, seeded, analyzed, then measured. Its consumers read topics
# of the run's own (catalog-scale-<id>.*), never the platform's. GET /api/v1/fleet asks scheduler-service for every
# policy once per request: a stand-in (python3 http.server on SCHEDULER_STANDIN_PORT) answers with one enabled
# policy per source (RPO P1D, a next run), so the fleet's figure includes that call over loopback.
#
# Measured, each with WARMUP unmeasured and REQUESTS measured requests from CONCURRENCY virtual threads
# (deploy/bench/AuthBench.java load: java.net.http, keep-alive): the first page, ?status=FAILED, ?type=FULL,
# ?sourceId=, a page DEEP pages down (reached by following nextCursor), the first page of /recoveries and
# ?mode=drill, and /fleet.
#
# Needs Kafka and PostgreSQL of deploy/local/stack.sh (`deploy/local/stack.sh up kafka postgres`), a JDK 21+, curl,
# jq, psql, python3. Usage: deploy/bench/catalog-scale.sh
# Environment: KAFKA_PORT (9092), PG_PORT (55432), BENCH_PORT (18095), SCHEDULER_STANDIN_PORT (18096), SOURCES (1000),
# PER_SOURCE (1000), DEEP (500), REQUESTS (2000), WARMUP (300), CONCURRENCY (4), LIFEBOAT_JAVA_OPTS (-Xmx512m),
# SKIP_BUILD=1 to use catalog-service as built, KEEP_DB=1 to keep the database (its name is printed);
# Maven reads extra arguments from MAVEN_ARGS (e.g. -Dmaven.repo.local=...).
# Everything it creates goes on exit: catalog-service and the stand-in (by pid), the database (unless KEEP_DB),
# the topics and the consumer group, the key pair and tokens, the work directory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KAFKA_PORT=${KAFKA_PORT:-9092}; PG_PORT=${PG_PORT:-55432}
BENCH_PORT=${BENCH_PORT:-18095}; STANDIN_PORT=${SCHEDULER_STANDIN_PORT:-18096}
SOURCES=${SOURCES:-1000}; PER_SOURCE=${PER_SOURCE:-1000}; DEEP=${DEEP:-500}
REQUESTS=${REQUESTS:-2000}; WARMUP=${WARMUP:-300}; CONCURRENCY=${CONCURRENCY:-4}
JAVA_OPTS=${LIFEBOAT_JAVA_OPTS:--Xmx512m}
RUN_ID=$(date +%s)-$$
DB=catalog_scale_${RUN_ID//-/_}
PREFIX=catalog-scale-$RUN_ID
GROUP=catalog-service-catalog-scale-$RUN_ID
export PGPASSWORD=postgres PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)

fail() { echo "catalog-scale: $*" >&2; exit 1; }
say() { echo "== $*"; }

if [[ -z ${JAVA_HOME:-} ]]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
    [[ -x $j/bin/java ]] && { export JAVA_HOME=$j; break; }
  done
fi
[[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] || fail "no JDK found: set JAVA_HOME to a JDK 21 or newer"
JAVA=$JAVA_HOME/bin/java
for tool in curl jq psql python3; do command -v "$tool" >/dev/null || fail "$tool is required"; done
for p in "$BENCH_PORT" "$STANDIN_PORT"; do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && fail "port 127.0.0.1:$p is in use (set BENCH_PORT / SCHEDULER_STANDIN_PORT)"
done
(exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null || fail "no Kafka on 127.0.0.1:$KAFKA_PORT (deploy/local/stack.sh up kafka postgres; set KAFKA_PORT)"
"${PSQL[@]}" -d postgres -c "select 1" >/dev/null 2>&1 || fail "no PostgreSQL on 127.0.0.1:$PG_PORT as postgres/postgres (deploy/local/stack.sh up postgres; set PG_PORT)"

# the run's topics, group and catalog-service use the stack's Kafka admin principal (see auth-bench.sh)
KAFKA_ADMIN_PASSWORD_FILE=${LIFEBOAT_WORK:-$ROOT/.work/stack}/secrets/kafka/admin.password
[[ -s $KAFKA_ADMIN_PASSWORD_FILE ]] || fail "no Kafka admin password at $KAFKA_ADMIN_PASSWORD_FILE (deploy/local/stack.sh up kafka)"
export KAFKA_SASL_JAAS_CONFIG="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(cat "$KAFKA_ADMIN_PASSWORD_FILE")\";"
KAFKA_SYS=(-Dkafka.security.protocol=SASL_PLAINTEXT -Dkafka.sasl.mechanism=SCRAM-SHA-512 "-Dkafka.sasl.jaas.config=$KAFKA_SASL_JAAS_CONFIG")

mkdir -p "$ROOT/.work"
WORK=$(mktemp -d "$ROOT/.work/catalog-scale.XXXXXX")
PIDS=(); DB_CREATED=0; TOPICS_CREATED=0
BENCH=("$JAVA" -Dslf4j.provider=org.slf4j.helpers.NOP_FallbackServiceProvider -Dslf4j.internal.verbosity=ERROR -cp "$ROOT/catalog-service/target/quarkus-app/lib/main/*" "$ROOT/deploy/bench/AuthBench.java")
stop() {   # stop PID: TERM, up to 20 s, then KILL
  kill "$1" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  if ((rc != 0)) && [[ -s $WORK/catalog.log ]]; then { echo "--- end of catalog.log"; tail -20 "$WORK/catalog.log"; } >&2; fi
  for p in "${PIDS[@]}"; do stop "$p"; done
  if [[ $TOPICS_CREATED == 1 ]]; then
    "${BENCH[@]}" topics "127.0.0.1:$KAFKA_PORT" "$PREFIX" delete "$GROUP" \
      || echo "catalog-scale: could not delete topics $PREFIX.* and group $GROUP" >&2
  fi
  if [[ $DB_CREATED == 1 && ${KEEP_DB:-0} != 1 ]]; then "${PSQL[@]}" -d postgres -c "drop database if exists $DB with (force)"; fi
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
QLIB=$ROOT/catalog-service/target/quarkus-app/lib
mint() {   # mint SUBJECT ROLE > FILE; the key pair is created in $WORK/jwt on first use
  "$JAVA" -XX:TieredStopAtLevel=1 -cp "$QLIB/boot/*:$QLIB/main/*" dev.lifeboat.identity.MintTokens --keys "$WORK/jwt" \
    --subject "$1" --role "$2" --lifetime PT6H 2>>"$WORK/mint.log" || { cat "$WORK/mint.log" >&2; fail "cannot mint a token"; }
}
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
import http.server, sys
body = open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.split("?")[0] != "/api/v1/policies":
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$WORK/standin/server.py" "$STANDIN_PORT" "$WORK/standin/policies.json" & PIDS+=("$!")

# ---------------------------------------------------------------- catalog-service, seed
say "starting catalog-service on $BENCH_PORT, database $DB"
env HTTP_PORT="$BENCH_PORT" LIFEBOAT_DB_PORT="$PG_PORT" LIFEBOAT_DB_NAME="$DB" \
  KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT" KAFKA_GROUP_ID="$GROUP" \
  MP_MESSAGING_INCOMING_BACKUP_REQUESTS_TOPIC="$PREFIX.backup.requested.v1" \
  MP_MESSAGING_INCOMING_BACKUP_EVENTS_TOPIC="$PREFIX.backup.events.v1" \
  MP_MESSAGING_INCOMING_RECOVERY_EVENTS_TOPIC="$PREFIX.recovery.events.v1" \
  MP_MESSAGING_INCOMING_WAL_STATUS_TOPIC="$PREFIX.wal.status.v1" \
  MP_MESSAGING_INCOMING_BACKUP_REQUESTS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
  MP_MESSAGING_INCOMING_BACKUP_EVENTS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
  MP_MESSAGING_INCOMING_RECOVERY_EVENTS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
  MP_MESSAGING_INCOMING_WAL_STATUS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
  SCHEDULER_URL="http://127.0.0.1:$STANDIN_PORT" ZIPKIN_ENDPOINT="" \
  LIFEBOAT_JWT_PUBLIC_KEY_LOCATION="file:$WORK/jwt/public.pem" LIFEBOAT_SERVICE_TOKEN_FILE="$WORK/service.token" \
  "$JAVA" $JAVA_OPTS "${KAFKA_SYS[@]}" -jar "$ROOT/catalog-service/target/quarkus-app/quarkus-run.jar" \
  > "$WORK/catalog.log" 2>&1 &
CATALOG_PID=$!; PIDS+=("$CATALOG_PID")
for ((i = 0; ; i++)); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$BENCH_PORT/q/health/ready") == 200 ]] && break
  kill -0 "$CATALOG_PID" 2>/dev/null || fail "catalog-service stopped"
  ((i < 480)) || fail "catalog-service not ready after 240 s"
  sleep 0.5
done
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
add "fleet ($SOURCES sources)" "/api/v1/fleet"
SOURCES_SEEN=$(curl -sf "${AUTH[@]}" "$BASE/api/v1/fleet" | jq '[.sources[] | select(.rpoSeconds != null)] | length')
[[ $SOURCES_SEEN == "$SOURCES" ]] || fail "the fleet shows $SOURCES_SEEN sources with their RPO, expected $SOURCES"
declare -a OUT
for i in "${!NAMES[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$BASE${URLS[$i]}")
  [[ $code == 200 ]] || fail "GET ${URLS[$i]} answered $code"
  say "measuring ${NAMES[$i]}: $WARMUP warm-up + $REQUESTS requests, concurrency $CONCURRENCY"
  OUT[$i]=$("${BENCH[@]}" load "$BASE${URLS[$i]}" "$WORK/viewer.token" "$REQUESTS" "$WARMUP" "$CONCURRENCY") \
    || fail "load run of ${URLS[$i]} failed"
done

echo
echo "catalog-service $(git -C "$ROOT" rev-parse --short HEAD), $SOURCES x $PER_SOURCE backups; machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %9s %9s %9s\n' endpoint "p50 ms" "p99 ms" "req/s"
for i in "${!NAMES[@]}"; do
  read -r p50 p99 rps <<<"${OUT[$i]}"
  printf '%-34s %9s %9s %9s\n' "${NAMES[$i]}" "$p50" "$p99" "$rps"
done
[[ ${KEEP_DB:-0} == 1 ]] && echo "database kept: $DB"
exit 0
