package dev.lifeboat.catalog;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lifeboat.contracts.BackupType;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static dev.lifeboat.catalog.BackupLifecycleTest.awaitBackup;
import static dev.lifeboat.catalog.BackupLifecycleTest.follow;
import static dev.lifeboat.catalog.BackupLifecycleTest.next;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A progress stream shows what this instance records when it records it, not at its next poll: with a poll interval
 * (and heartbeat) of an hour, every item after the first can only come from the wake after the event's commit.
 */
@QuarkusTest
@TestProfile(ProgressWakeTest.HourlyPoll.class)
@WithTestResource(CatalogTestResource.class)
class ProgressWakeTest {
    public static class HourlyPoll implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("lifeboat.catalog.progress.poll-interval", "1h", "lifeboat.catalog.progress.heartbeat", "1h");
        }
    }

    @Test
    void streamShowsProgressAndCompletionAsSoonAsTheyAreRecorded() throws Exception {
        try (TestKafka kafka = new TestKafka()) {
            followsWhatIsRecorded(kafka);
        }
    }

    private static void followsWhatIsRecorded(TestKafka kafka) throws Exception {
        TestBackups b = TestBackups.of(BackupType.FULL);
        kafka.publish(b.sourceId(), b.requested("wake-test"));
        kafka.publish(b.sourceId(), b.progress("DUMPING", 1000, 10));
        awaitBackup(b.backupId(), "RUNNING");
        var events = follow(b.backupId());
        ObjectMapper json = new ObjectMapper();
        BackupLifecycleTest.Sse first = next(events);
        assertThat(first.event()).isEqualTo("progress");
        assertThat(json.readTree(first.data()).path("phase").asText()).isEqualTo("DUMPING");

        kafka.publish(b.sourceId(), b.progress("UPLOADING", 5000, 50));
        BackupLifecycleTest.Sse second = next(events);
        assertThat(second.event()).isEqualTo("progress");
        assertThat(json.readTree(second.data()).path("phase").asText()).isEqualTo("UPLOADING");
        assertThat(json.readTree(second.data()).path("bytesDone").asLong()).isEqualTo(5000);

        kafka.publish(b.sourceId(), b.completed(Instant.now().minusSeconds(3)));
        BackupLifecycleTest.Sse done = next(events);
        assertThat(done.event()).isEqualTo("done");
        assertThat(json.readTree(done.data()).path("status").asText()).isEqualTo("COMPLETED");
        assertThat(next(events).event()).isEqualTo("end");
    }
}
