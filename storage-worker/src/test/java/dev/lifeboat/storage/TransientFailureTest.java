package dev.lifeboat.storage;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.testsupport.LocalStack;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The worker's PostgreSQL server is stopped while a SnapshotCreated is in flight: an outage shorter than the retry
 * window is ridden out, a longer one parks the record on lifeboat.parked.v1 (not the dead-letter topic), from where
 * a replay completes it.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class TransientFailureTest extends StorageWorkerTestBase {
    @Inject
    MeterRegistry registry;
    TopicTail parked;

    @BeforeEach
    void tailParked() {
        parked = new TopicTail(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.PARKED);
    }

    @AfterEach
    void closeParked() {
        parked.close();
    }

    @Test
    void shortPostgresOutageIsRetriedAndTheBackupCompletes() {
        SnapshotCreated snapshot = uploadedSnapshot(2_000);
        double retriesBefore = retries();
        LocalStack stack = LocalStack.ensureStarted();
        stack.stopServer("postgres");
        try {
            publish(snapshot);
            await().atMost(WAIT).until(() -> retries() > retriesBefore);
        } finally {
            stack.startServer("postgres");
        }

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        assertThat(deadLetters.seen(r -> r.value() != null && r.value().contains(snapshot.backupId()))).isEmpty();
    }

    @Test
    void outageOutlastingTheRetryWindowParksTheSnapshotAndAReplayCompletesIt() {
        SnapshotCreated snapshot = uploadedSnapshot(2_000);
        ConsumerRecord<String, String> held;
        LocalStack stack = LocalStack.ensureStarted();
        stack.stopServer("postgres");
        try {
            publish(snapshot);
            held = parked.await(r -> r.value() != null && r.value().contains(snapshot.backupId()), WAIT);
        } finally {
            stack.startServer("postgres");
        }
        assertThat(header(held, Parking.ORIGIN_TOPIC)).isEqualTo(Topics.BACKUP_EVENTS);
        assertThat(header(held, Parking.REASON)).startsWith("sealing of backup " + snapshot.backupId() + " at s3://"
                + snapshot.bucket() + "/" + snapshot.objectKey() + " failed transiently").contains("retry window");
        assertThat(header(held, EventCodec.H_TYPE)).isEqualTo(EventType.SNAPSHOT_CREATED.ceType());
        assertThat(deadLetters.seen(r -> r.value() != null && r.value().contains(snapshot.backupId())))
                .as("a valid record is never dead-lettered").isEmpty();
        assertThat(events.seen(outcomeOf(snapshot.backupId()))).as("no verdict on a transient failure").isEmpty();

        // what scheduler-service's replay does: the record as it was, back on its origin topic
        RecordHeaders original = new RecordHeaders();
        held.headers().forEach(h -> {
            if (!h.key().startsWith("lifeboat-origin-") && !h.key().startsWith("lifeboat-parked-")) {
                original.add(h);
            }
        });
        producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, held.key(), held.value(), original));

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
    }

    @Test
    void schedulerServiceAwayWhileTheDestinationIsCheckedParksTheSnapshotAndAReplayCompletesIt() {
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated snapshot = uploadedSnapshot(2_000, SOURCE, policy);
        ConsumerRecord<String, String> held;
        FakeScheduler.unavailable(policy, true);
        try {
            publish(snapshot);
            held = parked.await(r -> r.value() != null && r.value().contains(snapshot.backupId()), WAIT);
        } finally {
            FakeScheduler.unavailable(policy, false);
        }
        assertThat(header(held, Parking.REASON)).startsWith("sealing of backup " + snapshot.backupId())
                .contains("failed transiently").contains("scheduler-service answered 503 for policy '" + policy + "'");
        assertThat(deadLetters.seen(r -> r.value() != null && r.value().contains(snapshot.backupId())))
                .as("a valid record is never dead-lettered").isEmpty();
        assertThat(events.seen(outcomeOf(snapshot.backupId()))).as("no verdict while the policy is unknown").isEmpty();

        producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, held.key(), held.value(),
                Parking.withoutParkingHeaders(held.headers())));

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
    }

    private double retries() {
        Counter retries = registry.find("lifeboat.storage.seal.retries").counter();
        return retries == null ? 0 : retries.count();
    }
}
