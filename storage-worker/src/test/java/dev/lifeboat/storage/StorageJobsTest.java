package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.repository.blob.FaultInjectingObjectStore;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.Replicator;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Long storage work runs off the sealing path: an offsite copy that takes long (its writes held in the object store)
 * does not delay another backup's BackupCompleted, and a copy whose worker died part way is taken over once its
 * lease runs out and resumes where it stopped. Real Kafka, PostgreSQL and S3Proxy.
 */
@QuarkusTest
@WithTestResource(StorageWorkerTestResource.class)
class StorageJobsTest extends StorageWorkerTestBase {
    static final String OFFSITE = OffsiteCopyTest.OFFSITE;

    @Inject
    FaultInjectingObjectStore holdable;
    @Inject
    AgroalDataSource dataSource;

    @Test
    void aLongOffsiteCopyDoesNotDelayTheSealingOfAnotherBackupOfTheSameSource() {
        String root = "slow-" + UUID.randomUUID();
        OffsiteDestination to = new OffsiteDestination(OFFSITE, root + "/" + SOURCE);
        SnapshotCreated copied = uploadedSnapshot(300_000, SOURCE, FakeScheduler.policyWithOffsite(SOURCE, OFFSITE,
                root)).withOffsite(to);
        SnapshotCreated other = uploadedSnapshot(10_000);
        holdable.holdWrites(OFFSITE, 0);
        try {
            publish(copied);
            assertThat(header(events.await(outcomeOf(copied.backupId()), WAIT), EventCodec.H_TYPE))
                    .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
            await().atMost(WAIT).until(() -> holdable.heldWrites() > 0);

            // same source, so same key and partition: handled after the first backup's record
            publish(other);

            ConsumerRecord<String, String> completed = events.await(outcomeOf(other.backupId()),
                    Duration.ofSeconds(30));
            assertThat(header(completed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
            assertThat(events.seen(copyOutcomeOf(copied.backupId()))).as("the copy is still held").isEmpty();
        } finally {
            holdable.release();
        }
        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(copied.backupId()), WAIT);
        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COPIED.ceType());
    }

    @Test
    void aCopyWhoseWorkerDiedMidCopyIsTakenOverAfterItsLeaseAndResumedWhereItStopped() throws Exception {
        SnapshotCreated sealed = uploadedSnapshot(3_000_000);
        publish(sealed);
        assertThat(header(events.await(outcomeOf(sealed.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        OffsiteDestination to = new OffsiteDestination(OFFSITE, "resumed-" + UUID.randomUUID() + "/" + SOURCE);
        SnapshotCreated snapshot = sealed.withOffsite(to);
        Manifest manifest = manifestOf(sealed);
        int total = manifest.distinctChunks().size();
        assertThat(total).as("chunks of the backup").isGreaterThanOrEqualTo(3);

        // another worker copied the key file and two chunks, then died: its further writes never land
        FaultInjectingObjectStore dying = new FaultInjectingObjectStore(store, FaultInjectingObjectStore.Faults.none(),
                7);
        dying.holdWrites(OFFSITE, 3);
        AtomicReference<Throwable> death = new AtomicReference<>();
        Thread doomed = new Thread(() -> {
            try {
                new Replicator(repositories.open(BUCKET, repositoryOf(sealed)).orElseThrow(), repositories.masterKey(),
                        1).replicate(manifest, dying, OFFSITE, to.prefix());
            } catch (Throwable e) {
                death.set(e);
            }
        });
        doomed.start();
        await().atMost(WAIT).until(() -> dying.heldWrites() > 0);
        dying.cut();
        doomed.join(WAIT.toMillis());
        assertThat(death.get()).hasMessageContaining("died");
        // ...leaving its claim on the job queued with the seal, with a lease about to run out
        insertClaimedJob(snapshot, "storage-worker-killed-mid-copy");

        ConsumerRecord<String, String> record = events.await(copyOutcomeOf(snapshot.backupId()), WAIT);

        assertThat(header(record, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COPIED.ceType());
        BackupCopied copied = (BackupCopied) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(copied.chunksTotal()).isEqualTo(total);
        assertThat(copied.chunksCopied()).as("the two chunks the dead worker copied are not copied again")
                .isEqualTo(total - 2);
        assertThat(copied.verification()).isEqualTo("FULL_OK");
        // the job is marked done right after its event went out
        await().atMost(WAIT).until(() -> jobRow("copy:" + snapshot.backupId()).startsWith("DONE"));
        assertThat(jobRow("copy:" + snapshot.backupId())).startsWith("DONE by storage-worker-")
                .doesNotContain("killed");
    }

    private void insertClaimedJob(SnapshotCreated snapshot, String worker) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("""
                     INSERT INTO storage.storage_job (kind, subject, payload, event_key, status, attempts, run_after,
                                                      claimed_by, claimed_until, created_at)
                     VALUES ('OFFSITE_COPY', ?, ?::jsonb, ?, 'PENDING', 1, now(), ?, now() + interval '2 seconds',
                             now())""")) {
            ps.setString(1, "copy:" + snapshot.backupId());
            ps.setString(2, EventCodec.encodeData(snapshot));
            ps.setString(3, snapshot.sourceId());
            ps.setString(4, worker);
            ps.executeUpdate();
        }
    }

    /** "status by worker" of the job on {@code subject}. */
    private String jobRow(String subject) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT status, claimed_by FROM storage.storage_job WHERE subject = ? ORDER BY id DESC")) {
            ps.setString(1, subject);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("job %s", subject).isTrue();
                return rs.getString(1) + " by " + rs.getString(2);
            }
        }
    }

    static Predicate<ConsumerRecord<String, String>> copyOutcomeOf(String backupId) {
        return r -> {
            String type = header(r, EventCodec.H_TYPE);
            return (EventType.BACKUP_COPIED.ceType().equals(type) || EventType.BACKUP_COPY_FAILED.ceType().equals(type))
                    && r.value() != null && r.value().contains("\"backupId\":\"" + backupId + "\"");
        };
    }
}
