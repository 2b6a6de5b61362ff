package dev.lifeboat.catalog;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.LocalStack;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static dev.lifeboat.catalog.BackupLifecycleTest.awaitBackup;
import static dev.lifeboat.catalog.BackupLifecycleTest.backup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

/** What the consumer does with records it cannot record: invalid ones go to the DLQ, failed transactions are retried. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class DeadLetterTest {
    static TestKafka kafka;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void invalidRecordsGoToTheDeadLetterTopicAndTheConsumerKeepsGoing() {
        TestBackups b = TestBackups.full();
        String key = b.sourceId();
        Map<TopicPartition, Long> dlqStart = TestKafka.endOffsets(Topics.DLQ);

        Headers completedHeaders = EventCodec.headers(EventType.BACKUP_COMPLETED, "/tests/bad", key);
        kafka.send(Topics.BACKUP_EVENTS, key, completedHeaders, "{\"backupId\": ");
        Headers noType = EventCodec.headers(EventType.BACKUP_COMPLETED, "/tests/bad", key);
        noType.remove(EventCodec.H_TYPE);
        kafka.send(Topics.BACKUP_EVENTS, key, noType, EventCodec.encodeData(b.completed(Instant.now())));
        kafka.publish(key, new BackupRequested(null, key, BackupType.FULL, null, ""));
        // same key, same partitions: these come after the bad records and must still be recorded
        kafka.publish(key, b.requested("after-the-bad-ones"));
        kafka.publish(key, b.completed(Instant.now()));

        awaitBackup(b.backupId(), "COMPLETED").body("requestedBy", equalTo("after-the-bad-ones"));
        List<ConsumerRecord<String, String>> dead = TestKafka.read(dlqStart, r -> key.equals(r.key()), 3,
                Duration.ofSeconds(30));
        assertThat(dead).extracting(r -> header(r, "dead-letter-reason")).satisfiesExactlyInAnyOrder(
                reason -> assertThat(reason).startsWith("event data is not valid JSON: Unexpected end-of-input"),
                reason -> assertThat(reason).isEqualTo("CloudEvent header ce_type is missing"),
                reason -> assertThat(reason).isEqualTo("event data fails schema dev.lifeboat.backup.requested.v1: "
                        + "$.requestedBy: must be at least 1 characters long"));
        assertThat(dead).extracting(r -> header(r, "dead-letter-topic"))
                .containsExactlyInAnyOrder(Topics.BACKUP_EVENTS, Topics.BACKUP_EVENTS, Topics.BACKUP_REQUESTED);
        assertThat(dead).allSatisfy(r -> assertThat(header(r, "dead-letter-offset")).isNotBlank());
    }

    @Test
    void aFailedTransactionIsRetriedUntilItCommitsAndNeverDeadLettered() throws Exception {
        TestBackups b = TestBackups.full();
        Map<TopicPartition, Long> dlqStart = TestKafka.endOffsets(Topics.DLQ);
        // the database really away (a revoked privilege would be a permanent error, not an outage)
        LocalStack stack = LocalStack.ensureStarted();
        stack.stopServer("postgres");
        try {
            kafka.publish(b.sourceId(), b.requested("while-the-database-is-away"));
            Thread.sleep(3000);
        } finally {
            stack.startServer("postgres");
        }
        awaitBackup(b.backupId(), "REQUESTED").body("requestedBy", equalTo("while-the-database-is-away"));
        assertThat(TestKafka.read(dlqStart, r -> b.sourceId().equals(r.key()), 1, Duration.ofSeconds(2))).isEmpty();
    }

    private static String header(ConsumerRecord<String, String> r, String name) {
        return EventCodec.header(r.headers(), name);
    }
}
