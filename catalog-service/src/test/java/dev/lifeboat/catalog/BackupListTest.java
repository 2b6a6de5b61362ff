package dev.lifeboat.catalog;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupType;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;

/** GET /api/v1/backups: filters, paging, order and the 400 answers for bad parameters. */
@QuarkusTest
@WithTestResource(CatalogTestResource.class)
class BackupListTest {
    static TestKafka kafka;

    /** Five backups of one source, requested an hour apart: b[0] oldest ... b[4] newest. */
    static String source;
    static List<TestBackups> b;
    static Instant t0;

    @BeforeAll
    static void connect() {
        kafka = new TestKafka();
    }

    /** Once for the class, but after Quarkus is up (REST calls from @BeforeAll may precede its port setup). */
    @BeforeEach
    void publishFiveBackupsOnce() {
        if (source != null) {
            return;
        }
        String source = TestBackups.newSource();
        t0 = Instant.now().minus(10, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
        b = List.of(TestBackups.of(BackupType.FULL), TestBackups.of(BackupType.INCREMENTAL),
                        TestBackups.of(BackupType.INCREMENTAL), TestBackups.of(BackupType.DIFFERENTIAL),
                        TestBackups.of(BackupType.FULL))
                .stream().map(x -> x.ofSource(source)).toList();
        for (int i = 0; i < b.size(); i++) {
            Instant requestedAt = t0.plus(i, ChronoUnit.HOURS);
            kafka.publish(UUID.randomUUID().toString(), requestedAt, source, b.get(i).requested("list-test"));
        }
        kafka.publish(source, b.get(0).completed(t0.plusSeconds(60)));
        kafka.publish(source, b.get(1).completed(t0.plus(1, ChronoUnit.HOURS).plusSeconds(60)));
        kafka.publish(source, b.get(2).failed("UPLOAD", "bucket not found"));
        kafka.publish(source, b.get(3).completed(t0.plus(3, ChronoUnit.HOURS).plusSeconds(60)));
        // b[4] stays REQUESTED
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("status", "COMPLETED")
                        .when().get("/api/v1/backups").then().statusCode(200).body("items", hasSize(3)));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("status", "FAILED")
                        .when().get("/api/v1/backups").then().statusCode(200).body("items", hasSize(1)));
        BackupListTest.source = source;
    }

    @AfterAll
    static void disconnect() {
        kafka.close();
    }

    @Test
    void listIsNewestFirstAndPagedByCursor() {
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source)
                .when().get("/api/v1/backups")
                .then().statusCode(200)
                .body("size", equalTo(20)).body("nextCursor", nullValue())
                .body("items.backupId", contains(ids(4, 3, 2, 1, 0)));
        String second = given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("size", 2)
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(4, 3)))
                .extract().path("nextCursor");
        String third = given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("size", 2)
                .queryParam("cursor", second)
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("size", equalTo(2)).body("items.backupId", contains(ids(2, 1)))
                .extract().path("nextCursor");
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("size", 2)
                .queryParam("cursor", third)
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(0))).body("nextCursor", nullValue());
    }

    /**
     * Walking every page by cursor while new backups keep arriving (newer than the walk's start, and dated by no
     * event yet) visits each backup that existed when the walk began exactly once, in order.
     */
    @Test
    void cursorWalkSeesEveryRowOnceUnderConcurrentInserts() {
        String walked = TestBackups.newSource();
        Instant base = Instant.now().minus(5, ChronoUnit.DAYS).truncatedTo(ChronoUnit.MILLIS);
        List<String> expected = new java.util.ArrayList<>();
        for (int i = 0; i < 11; i++) {
            TestBackups x = TestBackups.of(BackupType.FULL).ofSource(walked);
            // pairs share their time: the id breaks the tie
            kafka.publish(UUID.randomUUID().toString(), base.plus(i / 2 * 7, ChronoUnit.MINUTES), walked,
                    x.requested("walk"));
            expected.add(x.backupId());
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .queryParam("sourceId", walked).queryParam("size", 200).when().get("/api/v1/backups")
                .then().statusCode(200).body("items", hasSize(11)));
        List<String> seen = new java.util.ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var page = given().auth().oauth2(Tokens.admin()).queryParam("sourceId", walked).queryParam("size", 3)
                    .queryParams(cursor == null ? java.util.Map.of() : java.util.Map.of("cursor", cursor))
                    .when().get("/api/v1/backups").then().statusCode(200).extract();
            seen.addAll(page.path("items.backupId"));
            cursor = page.path("nextCursor");
            // a newer backup arrives between two pages: it goes before the walk's position, never into it
            TestBackups late = TestBackups.of(BackupType.INCREMENTAL).ofSource(walked);
            kafka.publish(UUID.randomUUID().toString(), Instant.now(), walked, late.requested("late"));
            pages++;
        } while (cursor != null && pages < 20);
        List<String> newestFirst = expected.stream().sorted(java.util.Comparator
                .comparing((String id) -> expected.indexOf(id) / 2).reversed()
                .thenComparing(java.util.Comparator.<String>reverseOrder())).toList();
        org.assertj.core.api.Assertions.assertThat(seen.stream().filter(expected::contains).toList())
                .containsExactlyElementsOf(newestFirst);
        org.assertj.core.api.Assertions.assertThat(seen).doesNotHaveDuplicates();
    }

    @Test
    void badCursorsAre400() {
        badRequest("cursor", "not a cursor!", "'cursor' is not a cursor of this list");
        badRequest("cursor", java.util.Base64.getUrlEncoder().encodeToString("backups.12x.abc.0".getBytes()),
                "'cursor' is not a cursor of this list");
        badRequest("cursor", java.util.Base64.getUrlEncoder().encodeToString("backups.1.a'b.0".getBytes()),
                "'cursor' is not a cursor of this list");
        badRequest("cursor", "x".repeat(600), "'cursor' is not a cursor of this list");
        String cursor = given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("size", 1)
                .when().get("/api/v1/backups").then().statusCode(200).extract().path("nextCursor");
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("status", "FAILED")
                .queryParam("cursor", cursor).when().get("/api/v1/backups")
                .then().statusCode(400).body("detail", containsString("'cursor' was issued for other filters"));
        badRequest("page", "2", "'page' is not supported");
    }

    @Test
    void filtersCombine() {
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("status", "completed")
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(3, 1, 0)));
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("type", "INCREMENTAL")
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(2, 1)));
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("type", "INCREMENTAL").queryParam("status", "FAILED")
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(2)))
                .body("items[0].failure.reason", equalTo("bucket not found"));
        // from is inclusive, to exclusive
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source)
                .queryParam("from", t0.plus(1, ChronoUnit.HOURS).toString())
                .queryParam("to", t0.plus(3, ChronoUnit.HOURS).toString())
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(2, 1)));
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", source).queryParam("status", "REQUESTED")
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items.backupId", contains(ids(4)));
        given().auth().oauth2(Tokens.admin()).queryParam("sourceId", "no-such-source")
                .when().get("/api/v1/backups")
                .then().statusCode(200).body("items", hasSize(0)).body("nextCursor", nullValue());
    }

    @Test
    void invalidFiltersAre400ProblemJsonNamingTheParameter() {
        badRequest("status", "DONE", "'status' must be one of [REQUESTED, RUNNING, SNAPSHOT_CREATED, COMPLETED, FAILED, DELETED]");
        badRequest("type", "WEEKLY", "'type' must be one of [FULL, INCREMENTAL, DIFFERENTIAL]");
        badRequest("from", "yesterday", "'from' must be an ISO-8601 instant");
        badRequest("to", "2025-13-01", "'to' must be an ISO-8601 instant");
        badRequest("size", "201", "'size' must be between 1 and 200, got 201");
        badRequest("size", "0", "'size' must be between 1 and 200");
        badRequest("size", "ten", "'size' must be an integer");
        given().auth().oauth2(Tokens.admin()).queryParam("from", "2025-02-01T00:00:00Z").queryParam("to", "2025-01-01T00:00:00Z")
                .when().get("/api/v1/backups")
                .then().statusCode(400).body("detail", containsString("'to' must be after 'from'"));
    }

    @Test
    void openApiDocumentsTheEndpoints() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/openapi")
                .then().statusCode(200)
                .body(containsString("/api/v1/backups/{id}"))
                .body(containsString("/api/v1/sources/{id}/latest-restorable"));
    }

    @Test
    void recordedEventsAreCountedByType() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/metrics")
                .then().statusCode(200)
                .body(containsString("lifeboat_catalog_events_total{type=\"dev.lifeboat.backup.requested.v1\""))
                .body(containsString("lifeboat_catalog_events_total{type=\"dev.lifeboat.backup.completed.v1\""));
    }

    @Test
    void readyWhenDatabaseAndBothChannelsAre() {
        given().auth().oauth2(Tokens.admin()).when().get("/q/health/ready")
                .then().statusCode(200)
                .body("status", equalTo("UP"));
    }

    private static void badRequest(String param, String value, String detail) {
        given().auth().oauth2(Tokens.admin()).queryParam(param, value)
                .when().get("/api/v1/backups")
                .then().statusCode(400)
                .contentType("application/problem+json")
                .body("status", equalTo(400))
                .body("detail", containsString(detail));
    }

    private static String[] ids(int... indexes) {
        return java.util.Arrays.stream(indexes).mapToObj(i -> b.get(i).backupId()).toArray(String[]::new);
    }
}
