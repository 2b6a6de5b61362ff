#!/bin/sh
# docker-compose one-shot, with the broker's super user: creates the lifeboat.* topics (auto-creation is off) and
# the ACLs of /lifeboat/acls.conf (deploy/kafka/acls.conf: principal, topic|group, name (* = prefix), operations).
set -eu
K=/opt/kafka/bin
B=kafka:9092
CFG=/tmp/admin.properties
umask 077
cat > "$CFG" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(cat /secrets/admin/password)";
PROPS
i=0
until "$K/kafka-topics.sh" --bootstrap-server "$B" --command-config "$CFG" --list >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "kafka-init: broker $B not reachable with the admin credentials after 120 s" >&2; exit 1; }
  sleep 2
done
for t in lifeboat.backup.requested.v1 lifeboat.backup.events.v1 lifeboat.recovery.commands.v1 \
         lifeboat.recovery.replies.snapshot-worker.v1 lifeboat.recovery.replies.storage-worker.v1 \
         lifeboat.recovery.events.v1 lifeboat.wal.status.v1 lifeboat.dlq.v1 lifeboat.parked.v1; do
  "$K/kafka-topics.sh" --bootstrap-server "$B" --command-config "$CFG" --create --if-not-exists \
    --topic "$t" --partitions 4 --replication-factor 1
done
sed -e 's/#.*//' /lifeboat/acls.conf | while read -r principal resource name ops; do
  [ -n "$principal" ] || continue
  pattern=literal
  case $name in *\*) pattern=prefixed; name=${name%\*} ;; esac
  set --
  for op in $(echo "$ops" | tr ',' ' '); do set -- "$@" --operation "$op"; done
  "$K/kafka-acls.sh" --bootstrap-server "$B" --command-config "$CFG" --add --allow-principal "User:$principal" \
    --resource-pattern-type "$pattern" "--$resource" "$name" "$@" >/dev/null
  echo "acl: $principal $ops on $resource $name ($pattern)"
done
# Replies once shared one topic that every participant could write; each now has its own. Nobody may write the old
# one any more (a no-op where it never existed).
"$K/kafka-acls.sh" --bootstrap-server "$B" --command-config "$CFG" --remove --force \
  --topic lifeboat.recovery.replies.v1 >/dev/null 2>&1 || true
