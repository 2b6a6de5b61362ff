package dev.lifeboat.catalog;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.OffsiteDestination;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;

/** Offsite copy events on the real Kafka topic, shown as the backup's locations over the catalog's HTTP API. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class OffsiteLocationsTest {
    static final Duration WAIT = Duration.ofSeconds(90);
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
    void aCopiedBackupShowsBothLocationsInDetailAndList() {
        TestBackups b = TestBackups.full();
        Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        OffsiteDestination to = new OffsiteDestination("lifeboat-dr", "dr/" + b.sourceId());
        kafka.publish(b.sourceId(), b.snapshotCreated(start).withOffsite(to));
        await().atMost(WAIT).untilAsserted(() -> given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/{id}", b.backupId()).then()
                .statusCode(200).body("locations", hasSize(2)).body("locations[1].state", equalTo("PENDING")));

        kafka.publish(b.sourceId(), b.completed(start));
        String manifest = to.prefix() + "/chains/c1/manifests/" + b.backupId() + ".json";
        kafka.publish(Ids.eventId(b.backupId(), EventType.BACKUP_COPIED), start.plusSeconds(9), b.sourceId(),
                new BackupCopied(b.backupId(), b.sourceId(), "nightly", to.bucket(), to.prefix(), manifest,
                        b.sha256(), 3, 2, 8192, BackupCopied.FULL_OK, start.plusSeconds(9), 1200));

        await().atMost(WAIT).untilAsserted(() -> given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/{id}", b.backupId()).then()
                .statusCode(200).body("locations[1].state", equalTo("COPIED")));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/{id}", b.backupId()).then().statusCode(200)
                .body("status", equalTo("COMPLETED"))
                .body("locations[0].role", equalTo("PRIMARY"))
                .body("locations[0].state", equalTo("COMPLETED"))
                .body("locations[0].bucket", equalTo("lifeboat-backups"))
                .body("locations[0].manifestKey", equalTo(b.manifestKey()))
                .body("locations[1].role", equalTo("OFFSITE"))
                .body("locations[1].bucket", equalTo("lifeboat-dr"))
                .body("locations[1].prefix", equalTo(to.prefix()))
                .body("locations[1].manifestKey", equalTo(manifest))
                .body("locations[1].uri", equalTo("s3://lifeboat-dr/" + manifest))
                .body("locations[1].verification", equalTo("FULL_OK"))
                .body("locations[1].chunksCopied", equalTo(2))
                .body("locations[1].bytesCopied", equalTo(8192))
                .body("locations[1].reason", nullValue());
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", b.sourceId()).get("/api/v1/backups").then().statusCode(200)
                .body("items[0].locations[1].state", equalTo("COPIED"));

        kafka.publish(b.sourceId(), new BackupDeleted(b.backupId(), b.sourceId(), "nightly",
                List.of("s3://lifeboat-backups/" + b.manifestKey(), "s3://lifeboat-dr/" + manifest), Instant.now()));
        await().atMost(WAIT).untilAsserted(() -> given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/{id}", b.backupId()).then()
                .statusCode(200).body("status", equalTo("DELETED")).body("locations[1].state", equalTo("DELETED")));
    }

    @Test
    void aFailedCopyShowsItsReasonWhileThePrimaryStaysCompleted() {
        TestBackups b = TestBackups.full();
        Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        OffsiteDestination to = new OffsiteDestination("lifeboat-dr", "dr/" + b.sourceId());
        kafka.publish(b.sourceId(), b.snapshotCreated(start).withOffsite(to));
        kafka.publish(b.sourceId(), b.completed(start));
        kafka.publish(b.sourceId(), new BackupCopyFailed(b.backupId(), b.sourceId(), "nightly", to.bucket(),
                to.prefix(), "the destination holds another repository", false, start.plusSeconds(9)));

        await().atMost(WAIT).untilAsserted(() -> given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/{id}", b.backupId()).then()
                .statusCode(200).body("locations[1].state", equalTo("FAILED")));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/{id}", b.backupId()).then().statusCode(200)
                .body("status", equalTo("COMPLETED"))
                .body("locations[0].state", equalTo("COMPLETED"))
                .body("locations[1].reason", equalTo("the destination holds another repository"))
                .body("locations[1].manifestKey", nullValue());
    }
}
