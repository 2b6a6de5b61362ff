package dev.lifeboat.snapshot.recovery;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.testsupport.LocalStack;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import static dev.lifeboat.snapshot.recovery.ObjectStoreOutageTest.ofType;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * PostgreSQL stopped for 90 s across a backup request: the worker's job ledger, the source and scheduler-service's
 * source lookup (a stand-in that answers 503 while the database is away, as scheduler-service does) are all away
 * when the request arrives. The request is retried under the retry policy and the backup is created once PostgreSQL
 * is back: no BackupFailed, nothing parked or dead-lettered. Storage-worker's LongOutageTest covers the seal and
 * the expiry across the same outage.
 */
@QuarkusTest
@QuarkusTestResource(value = ObjectStoreOutageTest.Resource.class, restrictToAnnotatedClass = true)
class DatabaseOutageTest {
    static final Duration OUTAGE = Duration.ofSeconds(90);

    @Inject
    ObjectStore store;

    @Test
    void backupRequestedWhilePostgresIsStoppedForNinetySecondsIsCreatedOnceItIsBack() throws Exception {
        store.ensureBucket(ObjectStoreOutageTest.BUCKET);
        LocalStack stack = LocalStack.ensureStarted();
        String backupId = UUID.randomUUID().toString();
        try (TopicTail events = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.BACKUP_EVENTS);
             TopicTail parked = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.PARKED);
             TopicTail dead = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.DLQ);
             KafkaProducer<String, String> publisher = new KafkaProducer<>(
                     stack.kafkaClientConfig(LocalStack.KAFKA_PUBLISHER), new StringSerializer(),
                     new StringSerializer())) {
            stack.stopServer("postgres");
            Instant stopped = Instant.now();
            try {
                ObjectStoreOutageTest.publish(publisher, backupId);
                Thread.sleep(Math.max(0, OUTAGE.minus(Duration.between(stopped, Instant.now())).toMillis()));
                assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId)))
                        .as("a database outage is not a failed backup").isEmpty();
                assertThat(events.seen(ofType(EventType.SNAPSHOT_CREATED, backupId))).isEmpty();
            } finally {
                stack.startServer("postgres");
            }

            ConsumerRecord<String, String> created = events.await(ofType(EventType.SNAPSHOT_CREATED, backupId),
                    Duration.ofSeconds(120));
            assertThat(created.value()).contains(ObjectStoreOutageTest.BUCKET);
            assertThat(events.seen(ofType(EventType.BACKUP_FAILED, backupId))).isEmpty();
            assertThat(parked.seen(r -> r.value() != null && r.value().contains(backupId))).isEmpty();
            assertThat(dead.seen(r -> r.value() != null && r.value().contains(backupId))).isEmpty();
        }
    }
}
