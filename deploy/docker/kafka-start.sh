#!/bin/sh
# docker-compose broker: KRaft broker+controller whose clients authenticate with SASL SCRAM-SHA-512 and are
# authorized by ACLs (deploy/kafka/acls.conf, applied by kafka-init.sh). SCRAM users are created when the storage
# is formatted (first start), from the passwords in /secrets/<user>/password. The controller listener uses SASL
# PLAIN: a KRaft controller cannot check SCRAM, whose credentials live in the metadata log it serves.
# Two client listeners: SASL_PLAINTEXT (kafka:9092) for the services on the compose network, EXTERNAL (container port 9094,
# advertised as KAFKA_EXTERNAL_ADVERTISED, default 127.0.0.1:9092, the host port compose publishes it on) for
# outside publishers on the host; both SASL SCRAM-SHA-512 under the same ACLs.
# `docker compose down -v` resets data and passwords together; removing only one of them breaks logins.
set -eu
K=/opt/kafka/bin
ADMIN_PW=$(cat /secrets/admin/password)
CONF=/tmp/lifeboat-server.properties
umask 077
cat > "$CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=SASL_PLAINTEXT://:9092,EXTERNAL://:9094,CONTROLLER://:9093
advertised.listeners=SASL_PLAINTEXT://kafka:9092,EXTERNAL://${KAFKA_EXTERNAL_ADVERTISED:-127.0.0.1:9092}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,EXTERNAL:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$ADMIN_PW" user_admin="$ADMIN_PW";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PW";
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PW";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=/var/lib/kafka/data
num.partitions=4
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
# the client configuration of the health check in docker-compose.yml: the admin, over kafka:9092
cat > /tmp/lifeboat-health.properties <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PW";
PROPS
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  set --
  for dir in /secrets/*/; do
    set -- "$@" --add-scram "SCRAM-SHA-512=[name=$(basename "$dir"),password=$(cat "$dir/password")]"
  done
  "$K/kafka-storage.sh" format -t "$("$K/kafka-storage.sh" random-uuid)" -c "$CONF" "$@"
fi
exec "$K/kafka-server-start.sh" "$CONF"
