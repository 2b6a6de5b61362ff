package dev.lifeboat.storage;

import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.kit.rest.Problem;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.matchesPattern;

/**
 * PostgreSQL stopped for 90 s while a snapshot waits to be sealed and an expiry to be applied: both complete once it
 * is back, within the retry window, and nothing is dead-lettered or parked. A request to the worker's API meanwhile
 * is answered 503 naming the database, with Retry-After.
 */
@QuarkusTest
@WithTestResource(LongOutageTestResource.class)
class LongOutageTest extends StorageWorkerTestBase {
    static final Duration OUTAGE = Duration.ofSeconds(90);

    @Test
    void sealAndExpiryWaitOutANinetySecondPostgresOutageAndTheApiAnswers503Meanwhile() throws Exception {
        String policy = FakeScheduler.policy(SOURCE, 0, 0, 0);
        SnapshotCreated expired = ExpiredBackupDeletionTest.sealed(this, 1_000, policy);
        SnapshotCreated newest = uploadedSnapshot(2_000, SOURCE, policy);
        LocalStack stack = LocalStack.ensureStarted();
        try (TopicTail parked = new TopicTail(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN), Topics.PARKED)) {
            stack.stopServer("postgres");
            try {
                publish(newest);
                ExpiredBackupDeletionTest.publish(ExpiredBackupDeletionTest.expiry(policy, expired.backupId()));
                // an operator asking meanwhile is told what is away and when to come back, not a bare 500
                given().auth().oauth2(Tokens.admin()).when().post("/api/v1/backups/{id}/verify", newest.backupId())
                        .then().statusCode(503).contentType(Problem.MEDIA_TYPE)
                        .header("Retry-After", matchesPattern("[1-9][0-9]*"))
                        .body("detail", containsString("storage-worker's database is unavailable"))
                        .body("detail", containsString(":" + stack.pgPort()))
                        .body("detail", containsString("retry later"));
                Thread.sleep(OUTAGE.toMillis());
                assertThat(events.seen(outcomeOf(newest.backupId()))).as("no verdict while the database is away")
                        .isEmpty();
            } finally {
                stack.startServer("postgres");
            }

            ConsumerRecord<String, String> sealed = events.await(outcomeOf(newest.backupId()), WAIT);
            assertThat(header(sealed, EventCodec.H_TYPE)).isEqualTo(EventType.BACKUP_COMPLETED.ceType());
            events.await(ExpiredBackupDeletionTest.deletedOf(expired.backupId()), WAIT);
            assertThat(store.size(BUCKET, expired.objectKey())).as("expired manifest deleted").isEmpty();

            for (String id : new String[] {newest.backupId(), expired.backupId()}) {
                assertThat(deadLetters.seen(r -> r.value() != null && r.value().contains(id))).as("dead letters of %s", id)
                        .isEmpty();
                assertThat(parked.seen(r -> r.value() != null && r.value().contains(id))).as("parked records of %s", id)
                        .isEmpty();
            }
        }
    }
}
