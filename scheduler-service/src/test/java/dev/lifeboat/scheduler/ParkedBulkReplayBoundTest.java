package dev.lifeboat.scheduler;

import dev.lifeboat.contracts.Topics;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.lifeboat.scheduler.HeldRecords.header;
import static dev.lifeboat.scheduler.HeldRecords.park;
import static dev.lifeboat.scheduler.HeldRecords.replayedSince;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bulk replay keeps at most {@code lifeboat.replay.max-held-bytes} of held records in memory (16 KiB here, 64 MiB by
 * default): past it, it replays the oldest that fit, says how many it left and which record the next run starts with,
 * and the runs that follow replay the rest, each record once. Real Kafka and PostgreSQL.
 */
@QuarkusTest
@QuarkusTestResource(value = ReplayTestServers.class, restrictToAnnotatedClass = true)
class ParkedBulkReplayBoundTest {
    private static final int RECORDS = 10;
    /** Each held record is a little over 4 KiB: three fit in 16 KiB. */
    private static final int SIZE = 4 * 1024;

    @Test
    void aBulkReplayPastTheMemoryBoundLeavesTheNewestForTheNextRunAndLosesNothing() throws Exception {
        String marker = "large records " + UUID.randomUUID();
        Map<String, Long> start = HeldRecords.endOffsets(Topics.BACKUP_REQUESTED, Topics.RECOVERY_EVENTS);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        List<String> parked = new ArrayList<>();
        for (int i = 0; i < RECORDS; i++) {
            RecordMetadata m = park(Topics.BACKUP_REQUESTED, null, "src-large-" + i, marker,
                    now.minusSeconds(RECORDS - i), marker, SIZE);
            parked.add(m.topic() + "-" + m.partition() + "@" + m.offset());
        }
        String admin = Tokens.mint("admin-max", Roles.ADMIN);
        Map<String, Object> order = Map.of("reasonContains", marker, "dryRun", false, "limit", 1000);

        // the dry run says the same as the first run will: what fits, what is left and where the next run starts
        JsonPath dry = replayAll(admin, Map.of("reasonContains", marker, "limit", 1000));
        int fits = dry.getList("replayed").size();
        assertThat(fits).isBetween(1, RECORDS - 1);
        assertThat(dry.getInt("remaining")).isEqualTo(RECORDS - fits);
        assertThat(dry.getString("remainingBecause")).contains("lifeboat.replay.max-held-bytes")
                .contains("the next run starts with " + parked.get(fits));

        List<String> replayed = new ArrayList<>();
        for (int run = 1; replayed.size() < RECORDS; run++) {
            assertThat(run).as("runs needed for %d records", RECORDS).isLessThanOrEqualTo(RECORDS);
            JsonPath done = replayAll(admin, order);
            assertThat(done.getBoolean("complete")).isTrue();
            List<String> these = done.getList("replayed.held", Map.class).stream()
                    .map(h -> h.get("topic") + "-" + h.get("partition") + "@" + h.get("offset")).toList();
            assertThat(these).isNotEmpty();
            // whatever a run takes is at most what fits, and the next oldest
            assertThat(these).containsExactlyElementsOf(parked.subList(replayed.size(), replayed.size()
                    + these.size()));
            replayed.addAll(these);
            assertThat(done.getInt("remaining")).isEqualTo(RECORDS - replayed.size());
            if (replayed.size() < RECORDS) {
                assertThat(done.getString("remainingBecause")).contains("max-held-bytes")
                        .contains("the next run starts with " + parked.get(replayed.size()));
                assertThat(these).hasSizeLessThan(RECORDS);
            } else {
                assertThat(done.getString("remainingBecause")).isNull();
            }
        }
        assertThat(replayed).containsExactlyElementsOf(parked);
        assertThat(replayedSince(start, marker)).extracting(c -> header(c.headers(),
                ParkedRecordService.REPLAYED_FROM)).containsExactlyInAnyOrderElementsOf(parked);
    }

    private static JsonPath replayAll(String admin, Map<String, Object> order) {
        return given().auth().oauth2(admin).contentType(ContentType.JSON).body(order)
                .post("/api/v1/admin/parked/replay-all").then().statusCode(200).extract().jsonPath();
    }
}
