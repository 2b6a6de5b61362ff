# Shared by the benchmarks that run catalog-service by itself on a database and topics of their own
# (auth-bench.sh, catalog-scale.sh); sourced, not run. The caller sets ROOT, NAME (its name in messages), KAFKA_PORT,
# PG_PORT, DB, PREFIX, GROUP, JAVA_OPTS, WORK (once created) and PIDS (an array), and defines nothing of these.
# shellcheck shell=bash

export PGPASSWORD=postgres PGOPTIONS="-c client_min_messages=warning"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)

fail() { echo "$NAME: $*" >&2; exit 1; }
say() { echo "== $*"; }

bench_java() {   # sets JAVA (and JAVA_HOME when unset) to a JDK 21+
  if [[ -z ${JAVA_HOME:-} ]]; then
    for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/java-21-openjdk-amd64; do
      [[ -x $j/bin/java ]] && { export JAVA_HOME=$j; break; }
    done
  fi
  [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] || fail "no JDK found: set JAVA_HOME to a JDK 21 or newer"
  JAVA=$JAVA_HOME/bin/java
  # AuthBench.java runs on catalog-service's own libraries (contracts, kafka-clients); SLF4J stays quiet
  # BENCH_JAVA_OPTS: the load generator's own JVM options. Its pauses count in every latency it measures: by default
  # it runs on ZGC, whose pauses stay under a millisecond (with G1 its own young collections showed in the p99)
  # shellcheck disable=SC2206
  BENCH=("$JAVA" ${BENCH_JAVA_OPTS:--XX:+UseZGC} -Dslf4j.provider=org.slf4j.helpers.NOP_FallbackServiceProvider -Dslf4j.internal.verbosity=ERROR -cp "$ROOT/catalog-service/target/quarkus-app/lib/main/*" "$ROOT/deploy/bench/AuthBench.java")
}

bench_servers() {   # fails unless Kafka and PostgreSQL answer; sets KAFKA_SYS for the stack's Kafka admin principal
  (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null || fail "no Kafka on 127.0.0.1:$KAFKA_PORT (deploy/local/stack.sh up kafka postgres; set KAFKA_PORT)"
  "${PSQL[@]}" -d postgres -c "select 1" >/dev/null 2>&1 || fail "no PostgreSQL on 127.0.0.1:$PG_PORT as postgres/postgres (deploy/local/stack.sh up postgres; set PG_PORT)"
  # The broker authenticates (SASL SCRAM) and authorizes: the benchmark's topics, group and catalog instances use the
  # stack's admin principal, whose password stack.sh generated (the catalog-service principal may touch only the
  # platform's own lifeboat.* topics)
  local file=${LIFEBOAT_WORK:-$ROOT/.work/stack}/secrets/kafka/admin.password
  [[ -s $file ]] || fail "no Kafka admin password at $file (deploy/local/stack.sh up kafka)"
  export KAFKA_SASL_JAAS_CONFIG="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(cat "$file")\";"
  KAFKA_SYS=(-Dkafka.security.protocol=SASL_PLAINTEXT -Dkafka.sasl.mechanism=SCRAM-SHA-512 "-Dkafka.sasl.jaas.config=$KAFKA_SASL_JAAS_CONFIG")
}

stop() {   # stop PID: TERM, up to 20 s, then KILL
  kill "$1" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$1" 2>/dev/null || true
}

mint() {   # mint SUBJECT ROLE > FILE; the key pair is created in $WORK/jwt on first use
  # MintTokens (identity module) on catalog-service's libraries, which carry the JSON and config implementations
  # smallrye-jwt-build needs at run time
  local qlib=$ROOT/catalog-service/target/quarkus-app/lib
  "$JAVA" -XX:TieredStopAtLevel=1 -cp "$qlib/boot/*:$qlib/main/*" dev.lifeboat.identity.MintTokens --keys "$WORK/jwt" \
    --subject "$1" --role "$2" --lifetime PT6H 2>>"$WORK/mint.log" || { cat "$WORK/mint.log" >&2; fail "cannot mint a token"; }
}

start_catalog() {   # start_catalog JAR PORT LOG [ENV=VALUE...]: starts it, waits until ready, sets STARTED_PID
  local jar=$1 port=$2 log=$3; shift 3
  env HTTP_PORT="$port" LIFEBOAT_DB_PORT="$PG_PORT" LIFEBOAT_DB_NAME="$DB" \
    KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT" KAFKA_GROUP_ID="$GROUP" \
    MP_MESSAGING_INCOMING_BACKUP_REQUESTS_TOPIC="$PREFIX.backup.requested.v1" \
    MP_MESSAGING_INCOMING_BACKUP_EVENTS_TOPIC="$PREFIX.backup.events.v1" \
    MP_MESSAGING_INCOMING_RECOVERY_EVENTS_TOPIC="$PREFIX.recovery.events.v1" \
    MP_MESSAGING_INCOMING_WAL_STATUS_TOPIC="$PREFIX.wal.status.v1" \
    MP_MESSAGING_INCOMING_BACKUP_REQUESTS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
    MP_MESSAGING_INCOMING_BACKUP_EVENTS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
    MP_MESSAGING_INCOMING_RECOVERY_EVENTS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
    MP_MESSAGING_INCOMING_WAL_STATUS_DEAD_LETTER_QUEUE_TOPIC="$PREFIX.dlq.v1" \
    ZIPKIN_ENDPOINT="" "$@" \
    "$JAVA" $JAVA_OPTS "${KAFKA_SYS[@]}" -jar "$jar" > "$log" 2>&1 &
  STARTED_PID=$!; PIDS+=("$STARTED_PID")
  for ((i = 0; i < 480; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/q/health/ready") == 200 ]] && return 0
    kill -0 "$STARTED_PID" 2>/dev/null || fail "catalog-service on $port stopped"
    sleep 0.5
  done
  fail "catalog-service on $port not ready after 240 s"
}

bench_teardown() {   # on exit: stops PIDS, deletes the run's topics and group, drops DB (unless KEEP_DB=1)
  for p in "${PIDS[@]}"; do stop "$p"; done
  if [[ ${TOPICS_CREATED:-0} == 1 ]]; then
    "${BENCH[@]}" topics "127.0.0.1:$KAFKA_PORT" "$PREFIX" delete "$GROUP" \
      || echo "$NAME: could not delete topics $PREFIX.* and group $GROUP" >&2
  fi
  if [[ ${DB_CREATED:-0} == 1 && ${KEEP_DB:-0} != 1 ]]; then
    "${PSQL[@]}" -d postgres -c "drop database if exists $DB with (force)"
  fi
}
