package dev.lifeboat.storage;

import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** With lifeboat.storage.full-verify.every set, sealed backups are fully verified without being asked. */
@QuarkusTest
@TestProfile(ScheduledFullVerificationTest.EverySecond.class)
@WithTestResource(StorageWorkerTestResource.class)
class ScheduledFullVerificationTest extends StorageWorkerTestBase {

    public static class EverySecond implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("lifeboat.storage.full-verify.every", "1s");
        }
    }

    @Test
    void scheduledFullVerificationCatchesAFlippedBit() throws IOException {
        SnapshotCreated snapshot = uploadedSnapshot(80_000);
        publish(snapshot);
        assertThat(header(events.await(outcomeOf(snapshot.backupId()), WAIT), EventCodec.H_TYPE))
                .isEqualTo(EventType.BACKUP_COMPLETED.ceType());
        String chunkId = manifestOf(snapshot).files().stream().filter(f -> f.path().equals("4242.dat"))
                .findFirst().orElseThrow().chunks().getFirst().id();
        String key = chunkKey(snapshot, chunkId);
        byte[] chunk = readObject(key);
        chunk[chunk.length / 3] ^= 0x10;
        store.put(BUCKET, key, chunk);

        ConsumerRecord<String, String> record = events.await(r ->
                EventType.BACKUP_VERIFIED.ceType().equals(header(r, EventCodec.H_TYPE))
                        && r.value() != null && r.value().contains(snapshot.backupId())
                        && r.value().contains("\"ok\":false"), WAIT);
        BackupVerified verified = (BackupVerified) EventCodec.decode(record.headers(), record.value()).data();
        assertThat(verified.level()).isEqualTo("FULL");
        assertThat(verified.problems()).singleElement().asString().contains(chunkId);
    }
}
