package dev.lifeboat.storage;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.LocalStack;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The worker's own database goes away (its table is renamed) while a SnapshotCreated is in flight: a short
 * outage is retried through, a long one sends the record to the dead-letter topic, from where a replay completes it.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class TransientFailureTest extends StorageWorkerTestBase {
    @Inject
    MeterRegistry registry;

    @Test
    void shortDatabaseOutageIsRetriedAndTheBackupCompletes() {
        SnapshotCreated snapshot = uploadedSnapshot(2_000);
        double retriesBefore = retries();
        try (DatabaseOutage ignored = DatabaseOutage.begin()) {
            publish(snapshot);
            await().atMost(WAIT).until(() -> retries() > retriesBefore);
        }

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
    }

    @Test
    void outageOutlastingTheRetriesDeadLettersTheSnapshotAndAReplayCompletesIt() {
        SnapshotCreated snapshot = uploadedSnapshot(2_000);
        ConsumerRecord<String, String> dead;
        try (DatabaseOutage ignored = DatabaseOutage.begin()) {
            publish(snapshot);
            dead = deadLetters.await(r -> r.value() != null && r.value().contains(snapshot.backupId()), WAIT);
        }
        assertThat(header(dead, "dead-letter-reason"))
                .startsWith("sealing gave up after 4 attempts: StorageDatabaseException: cannot read sealed backup "
                        + snapshot.backupId());
        assertThat(events.seen(outcomeOf(snapshot.backupId()))).as("no verdict on a transient failure").isEmpty();

        RecordHeaders original = new RecordHeaders();
        dead.headers().forEach(h -> {
            if (!h.key().startsWith("dead-letter-")) {
                original.add(h);
            }
        });
        producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, dead.key(), dead.value(), original));

        ConsumerRecord<String, String> record = events.await(outcomeOf(snapshot.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
    }

    private double retries() {
        Counter retries = registry.find("lifeboat.storage.seal.retries").counter();
        return retries == null ? 0 : retries.count();
    }

    /** Renames the worker's table away, and back on close: every statement on it fails meanwhile. */
    private static final class DatabaseOutage implements AutoCloseable {
        static DatabaseOutage begin() {
            sql("ALTER TABLE storage.sealed_backup RENAME TO sealed_backup_away");
            return new DatabaseOutage();
        }

        @Override
        public void close() {
            sql("ALTER TABLE storage.sealed_backup_away RENAME TO sealed_backup");
        }

        private static void sql(String statement) {
            try (Connection c = DriverManager.getConnection(
                    LocalStack.ensureStarted().jdbcUrl(StorageWorkerTestResource.DATABASE),
                    StorageWorkerTestResource.USER, StorageWorkerTestResource.PASSWORD); Statement st = c.createStatement()) {
                st.execute(statement);
            } catch (SQLException e) {
                throw new IllegalStateException(statement + ": " + e.getMessage(), e);
            }
        }
    }
}
