package dev.lifeboat.scheduler;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.scheduler.domain.BackupRequest;
import dev.lifeboat.scheduler.service.BackupRequestService;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.notNullValue;

@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class SchedulerApiTest {
    @Inject
    BackupRequestService backups;

    private static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static Map<String, Object> source(String id) {
        return Map.of("id", id, "name", "Orders", "host", "127.0.0.1", "port", 25432, "database", "orders",
                "username", "backup", "passwordRef", "env:LIFEBOAT_SECRET_ORDERS_DB_PASSWORD");
    }

    @Test
    void sourceIsStoredWithItsSecretReferenceOnly() {
        String id = unique("orders");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(id)).post("/api/v1/sources")
                .then().statusCode(201).header("Location", containsString("/api/v1/sources/" + id));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/sources/" + id).then().statusCode(200)
                .body("passwordRef", equalTo("env:LIFEBOAT_SECRET_ORDERS_DB_PASSWORD"))
                .body("$", not(hasKey("password")));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(id)).post("/api/v1/sources")
                .then().statusCode(409).contentType("application/problem+json");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(id)).put("/api/v1/sources/" + id).then().statusCode(200);
    }

    @Test
    void invalidSourceIsRefusedWithEveryProblemNamed() {
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", "Bad Id!", "name", "x", "port", 70000, "database", "d", "username", "u",
                        "passwordRef", "hunter2", "password", "hunter2"))
                .post("/api/v1/sources")
                .then().statusCode(400).contentType("application/problem+json")
                .body("status", equalTo(400))
                .body("errors.field", hasItem("host"))
                .body("errors.field", hasItem("port"))
                .body("errors.field", hasItem("passwordRef"))
                .body("errors.field", hasItem("password"))
                .body("errors.field", hasItem("id"));
    }

    @Test
    void malformedJsonGetsAProblemResponse() {
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body("{\"name\": ").post("/api/v1/sources")
                .then().statusCode(400).contentType("application/problem+json").body("detail", notNullValue());
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(Map.of("sourceId", "x", "type", "WEEKLY")).post("/api/v1/backups")
                .then().statusCode(400).body("detail", containsString("FULL"));
    }

    @Test
    void policyWithBadCronIsRefused() {
        String src = unique("src");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src)).post("/api/v1/sources").then().statusCode(201);
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "every night at two"))
                .post("/api/v1/policies")
                .then().statusCode(400).body("detail", containsString("cron"));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 2 * * *", "rpo", "a day"))
                .post("/api/v1/policies")
                .then().statusCode(400).body("errors.field", hasItem("rpo"));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 2 * * *", "maxDuration", "PT2S"))
                .post("/api/v1/policies")
                .then().statusCode(400).body("detail", containsString("maxDuration PT2S is outside PT10S to"));
    }

    @Test
    void policiesPageBySourceWithEveryPolicyOfEachSourceItNames() {
        String run = unique("pages") + "-";
        List<String> ids = List.of(run + "a", run + "b", run + "c");
        for (String src : ids) {
            given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src))
                    .post("/api/v1/sources").then().statusCode(201);
        }
        // two policies for b: a page that names b carries both
        for (String[] p : new String[][] {{ids.get(0), "FULL"}, {ids.get(1), "FULL"}, {ids.get(1), "INCREMENTAL"},
                {ids.get(2), "FULL"}}) {
            given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                    .body(Map.of("sourceId", p[0], "type", p[1], "schedule", "0 2 * * *"))
                    .post("/api/v1/policies").then().statusCode(201);
        }
        List<String> first = given().auth().oauth2(Tokens.viewer())
                .queryParam("afterSourceId", run).queryParam("sources", 2)
                .get("/api/v1/policies").then().statusCode(200).extract().jsonPath().getList("sourceId");
        assertThat(first).containsExactly(ids.get(0), ids.get(1), ids.get(1));
        List<String> next = given().auth().oauth2(Tokens.viewer())
                .queryParam("afterSourceId", ids.get(1)).queryParam("sources", 1)
                .get("/api/v1/policies").then().statusCode(200).extract().jsonPath().getList("sourceId");
        assertThat(next).containsExactly(ids.get(2));

        given().auth().oauth2(Tokens.viewer()).queryParam("afterSourceId", run).get("/api/v1/policies")
                .then().statusCode(400).body("detail", containsString("needs 'sources'"));
        given().auth().oauth2(Tokens.viewer()).queryParam("sources", 0).get("/api/v1/policies")
                .then().statusCode(400).body("detail", containsString("must be at least 1"));
        given().auth().oauth2(Tokens.viewer()).queryParam("sourceId", ids.get(0)).queryParam("sources", 2)
                .get("/api/v1/policies").then().statusCode(400).body("detail", containsString("exclude each other"));
        given().auth().oauth2(Tokens.viewer()).queryParam("afterSourceId", "X' or 1=1").queryParam("sources", 2)
                .get("/api/v1/policies").then().statusCode(400).body("detail", containsString("afterSourceId"));
    }

    @Test
    void policyGetsDefaultsAndItsNextRun() {
        String src = unique("src");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src)).post("/api/v1/sources").then().statusCode(201);
        String id = unique("nightly");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", id, "sourceId", src, "type", "INCREMENTAL", "schedule", "0 2 * * *",
                        "destination", Map.of("bucket", "offsite-eu", "prefix", "pg/orders"), "rpo", "PT24H"))
                .post("/api/v1/policies")
                .then().statusCode(201)
                .body("retention.daily", equalTo(7)).body("retention.weekly", equalTo(4))
                .body("retention.monthly", equalTo(12)).body("nextRunAt", containsString("T02:00:00Z"))
                .body("destination.bucket", equalTo("offsite-eu")).body("maxDuration", equalTo("PT6H"));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 3 * * *", "maxDuration", "PT90M"))
                .post("/api/v1/policies")
                .then().statusCode(201).body("maxDuration", equalTo("PT1H30M"));
        given().auth().oauth2(Tokens.admin()).delete("/api/v1/sources/" + src).then().statusCode(409).body("detail", containsString("polic"));
    }

    @Test
    void policyWithAnOffsiteDestinationShowsItAndRefusesTheSamePlaceAsThePrimary() {
        String src = unique("src");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src)).post("/api/v1/sources").then().statusCode(201);
        String id = unique("offsite");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", id, "sourceId", src, "type", "FULL", "schedule", "0 3 * * *",
                        "destination", Map.of("bucket", "primary-eu", "prefix", "pg"),
                        "offsite", Map.of("bucket", "offsite-us", "prefix", "dr/pg")))
                .post("/api/v1/policies")
                .then().statusCode(201).body("offsite.bucket", equalTo("offsite-us"))
                .body("offsite.prefix", equalTo("dr/pg"));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + id).then().statusCode(200)
                .body("destination.bucket", equalTo("primary-eu"))
                .body("offsite.bucket", equalTo("offsite-us")).body("offsite.prefix", equalTo("dr/pg"));

        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 3 * * *",
                        "destination", Map.of("bucket", "primary-eu", "prefix", "pg"),
                        "offsite", Map.of("bucket", "primary-eu", "prefix", "/pg/")))
                .post("/api/v1/policies")
                .then().statusCode(400).contentType("application/problem+json")
                .body("title", equalTo("Invalid offsite destination"))
                .body("detail", containsString("must differ from the primary destination"));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 3 * * *",
                        "destination", Map.of("bucket", "primary-eu", "prefix", "pg"),
                        "offsite", Map.of("bucket", "primary-eu", "prefix", "pg/copy")))
                .post("/api/v1/policies")
                .then().statusCode(400).body("detail", containsString("overlaps the primary destination"));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 3 * * *",
                        "offsite", Map.of("prefix", "dr")))
                .post("/api/v1/policies")
                .then().statusCode(400).body("detail", containsString("offsite.bucket is required"));
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "FULL", "schedule", "0 3 * * *",
                        "offsite", Map.of("bucket", "Not_A_Bucket")))
                .post("/api/v1/policies")
                .then().statusCode(400).body("errors.field", hasItem("offsite.bucket"));
    }

    @Test
    void onDemandBackupIsAcceptedAndPublishedAsACloudEventNamingTheTokensSubject() {
        String src = unique("src");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src)).post("/api/v1/sources").then().statusCode(201);
        String backupId = given().auth().oauth2(Tokens.mint("dba-alice", Roles.OPERATOR)).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "type", "DIFFERENTIAL"))
                .post("/api/v1/backups")
                .then().statusCode(202).body("status", equalTo("REQUESTED")).body("requestedBy", equalTo("dba-alice"))
                .extract().path("backupId");

        CloudEvent<?> event = awaitRequest(src);
        assertThat(event.source()).isEqualTo("/lifeboat/scheduler-service");
        assertThat(event.data()).isEqualTo(new BackupRequested(backupId, src, BackupType.DIFFERENTIAL, null, "dba-alice"));
    }

    @Test
    void connectionParametersSmuggledInHostOrDatabaseAreRefused() {
        Map<String, Object> body = new java.util.HashMap<>(source(unique("src")));
        body.put("database", "dbname=orders host=203.0.113.9 sslmode=disable");
        body.put("host", "db.example?sslmode=disable");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(body).post("/api/v1/sources")
                .then().statusCode(400).contentType("application/problem+json")
                .body("errors.field", hasItem("database")).body("errors.field", hasItem("host"));
    }

    @Test
    void sourcesAndPoliciesRecordWhoRegisteredAndReplacedThemFromTheToken() {
        String alice = Tokens.mint("alice", Roles.ADMIN);
        String bob = Tokens.mint("bob", Roles.ADMIN);
        String src = unique("src");
        Map<String, Object> body = new java.util.HashMap<>(source(src));
        body.put("createdBy", "mallory");
        body.put("updatedBy", "mallory");
        given().auth().oauth2(alice).contentType(ContentType.JSON).body(body).post("/api/v1/sources")
                .then().statusCode(201).body("createdBy", equalTo("alice")).body("updatedBy", equalTo("alice"));
        given().auth().oauth2(bob).contentType(ContentType.JSON).body(body).put("/api/v1/sources/" + src)
                .then().statusCode(200);
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/sources/" + src).then().statusCode(200)
                .body("createdBy", equalTo("alice")).body("updatedBy", equalTo("bob"));
        String policy = unique("nightly");
        given().auth().oauth2(bob).contentType(ContentType.JSON)
                .body(Map.of("id", policy, "sourceId", src, "type", "FULL", "schedule", "0 2 * * *",
                        "createdBy", "mallory"))
                .post("/api/v1/policies").then().statusCode(201);
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/policies/" + policy).then().statusCode(200)
                .body("createdBy", equalTo("bob")).body("updatedBy", equalTo("bob"));
    }

    @Test
    void aRequesterNamedInTheBodyIsRefused() {
        String src = unique("src");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src)).post("/api/v1/sources").then().statusCode(201);
        given().auth().oauth2(Tokens.operator()).contentType(ContentType.JSON)
                .body(Map.of("sourceId", src, "requestedBy", "someone-else"))
                .post("/api/v1/backups")
                .then().statusCode(400).contentType("application/problem+json")
                .body("detail", containsString("bearer token"));
    }

    @Test
    void oversizedBodiesAndMalformedPathIdsAreRefused() {
        // Expect: 100-continue: the client waits for the answer to the headers, so the server's 413 is read instead
        // of the client writing the rest of the body into a connection the server already closed (broken pipe)
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).header("Expect", "100-continue")
                .body("{\"id\": \"" + "x".repeat(300 * 1024) + "\"}")
                .post("/api/v1/sources")
                .then().statusCode(413);
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/sources/" + "Bad..Id%20")
                .then().statusCode(400).contentType("application/problem+json")
                .body("detail", containsString("must be 1-63 characters"));
        given().auth().oauth2(Tokens.viewer()).get("/api/v1/backups/not-a-uuid")
                .then().statusCode(400).contentType("application/problem+json");
    }

    @Test
    void backupOfAnUnknownSourceIsRefused() {
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(Map.of("sourceId", "no-such-source"))
                .post("/api/v1/backups")
                .then().statusCode(422).contentType("application/problem+json")
                .body("detail", containsString("no-such-source"));
    }

    @Test
    void aCronSlotFiredTwiceRecordsOneBackup() throws Throwable {
        String src = unique("src");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON).body(source(src)).post("/api/v1/sources").then().statusCode(201);
        String policy = unique("hourly");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", policy, "sourceId", src, "type", "FULL", "schedule", "0 * * * *"))
                .post("/api/v1/policies").then().statusCode(201);
        Instant slot = Instant.parse("2026-11-24T10:00:00Z");
        VertxContextSupport.subscribeAndAwait(() -> backups.requestScheduled(policy, slot));
        VertxContextSupport.subscribeAndAwait(() -> backups.requestScheduled(policy, slot));
        long rows = VertxContextSupport.subscribeAndAwait(() -> Panache.withSession(
                () -> BackupRequest.count("policyId", policy)));
        assertThat(rows).isEqualTo(1);
        CloudEvent<?> event = awaitRequest(src);
        assertThat(((BackupRequested) event.data()).requestedBy()).isEqualTo("schedule:" + policy);
    }

    private CloudEvent<?> awaitRequest(String sourceId) {
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN);
        config.put("group.id", "scheduler-test-" + UUID.randomUUID());
        config.put("auto.offset.reset", "earliest");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config,
                new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(Topics.BACKUP_REQUESTED));
            List<CloudEvent<?>> found = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (found.isEmpty() && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    if (sourceId.equals(r.key())) {
                        found.add(EventCodec.decode(r.headers(), r.value()));
                    }
                }
            }
            assertThat(found).as("BackupRequested for %s on %s", sourceId, Topics.BACKUP_REQUESTED).hasSize(1);
            return found.get(0);
        }
    }
}
