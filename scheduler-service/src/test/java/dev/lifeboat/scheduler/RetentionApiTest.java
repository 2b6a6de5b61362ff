package dev.lifeboat.scheduler;

import dev.lifeboat.testsupport.Tokens;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.ExpiryRevoked;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.scheduler.domain.OutboxEvent;
import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;
import io.restassured.http.ContentType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import dev.lifeboat.testsupport.LocalStack;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;

/** Backup results from Kafka, GFS retention and BackupsExpired, against the real broker and database. */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class RetentionApiTest {
    private static final Instant FIRST = Instant.parse("2026-03-01T02:00:00Z");


    private static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** A source and a policy keeping the newest backup of each of its last {@code daily} days only. */
    private static String policyKeepingDays(String source, int daily) {
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", source, "name", "Orders", "host", "127.0.0.1", "port", 25432, "database", "orders",
                        "username", "backup", "passwordRef", "env:LIFEBOAT_SECRET_ORDERS_DB_PASSWORD"))
                .post("/api/v1/sources").then().statusCode(201);
        String policy = unique("daily");
        given().auth().oauth2(Tokens.admin()).contentType(ContentType.JSON)
                .body(Map.of("id", policy, "sourceId", source, "type", "FULL", "schedule", "0 2 1 1 *",
                        "retention", Map.of("daily", daily, "weekly", 0, "monthly", 0)))
                .post("/api/v1/policies").then().statusCode(201);
        return policy;
    }

    private static BackupCompleted completion(String backupId, String source, String policy, int day) {
        Instant done = FIRST.plus(Duration.ofDays(day));
        return new BackupCompleted(backupId, source, policy, BackupType.FULL, "lifeboat-backups", "k/" + backupId,
                "m/" + backupId, 1000 + day, 2000, "ab".repeat(32), done.minusSeconds(60), done, 60_000, null, null);
    }

    @Test
    void completionsExpireWhatThePolicyNoLongerKeepsOnceEvenWhenRedelivered() {
        String source = unique("src");
        String policy = policyKeepingDays(source, 3);
        List<String> ids = new ArrayList<>();
        List<BackupCompleted> completions = new ArrayList<>();
        for (int day = 0; day < 6; day++) {
            ids.add(UUID.randomUUID().toString());
            completions.add(completion(ids.get(day), source, policy, day));
        }
        publish(completions);

        List<BackupsExpired> expired = awaitExpiries(policy, seen -> expiredIds(seen).size() >= 3);
        assertThat(expiredIds(expired)).containsExactlyInAnyOrder(ids.get(0), ids.get(1), ids.get(2));
        assertThat(expired).allSatisfy(e -> {
            assertThat(e.sourceId()).isEqualTo(source);
            assertThat(e.reason()).contains(policy).contains("3 daily");
        });
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                        .body("keep.backupId", contains(ids.get(5), ids.get(4), ids.get(3)))
                        .body("keep[0].reasons", containsInAnyOrder("NEWEST", "DAILY"))
                        .body("keep[2].reasons", contains("DAILY"))
                        .body("expire", empty()));
        // the requests' rows are marked expired where retention said so, their requester kept
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/" + ids.get(0)).then().statusCode(200).body("status", equalTo("EXPIRED"))
                .body("requestedBy", equalTo("test-admin"));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/" + ids.get(5)).then().statusCode(200).body("status", equalTo("COMPLETED"));

        // every completion again (at-least-once delivery), then one new day behind them on the same partition
        List<BackupCompleted> again = new ArrayList<>(completions);
        String seventh = UUID.randomUUID().toString();
        again.add(completion(seventh, source, policy, 6));
        publish(again);

        List<BackupsExpired> all = awaitExpiries(policy, seen -> expiredIds(seen).contains(ids.get(3)));
        assertThat(expiredIds(all)).as("each backup expired exactly once")
                .containsExactlyInAnyOrder(ids.get(0), ids.get(1), ids.get(2), ids.get(3));
        assertThat(all).hasSize(4);
    }

    @Test
    void aPolicyExpiringMoreBackupsThanOneEventNamesAnnouncesThemInSeveralEventsEachOnce() throws Exception {
        String source = unique("src");
        String policy = policyKeepingDays(source, 1);
        // 1100 completed backups of the policy's first day, as years of backups under a policy tightened since
        List<String> old = new ArrayList<>();
        try (java.sql.Connection c = dev.lifeboat.testsupport.Databases.connect(RealServers.DB);
             java.sql.PreparedStatement ps = c.prepareStatement("""
                     insert into scheduler.backup_request (backup_id, source_id, policy_id, backup_type, requested_by,
                                                           requested_at, status, completed_at, size_bytes)
                     select gen_random_uuid(), ?, ?, 'FULL', 'test-admin', ?::timestamptz + n * interval '1 minute',
                            'COMPLETED', ?::timestamptz + n * interval '1 minute' + interval '30 seconds', 1000
                     from generate_series(1, 1100) n
                     returning backup_id""")) {
            ps.setString(1, source);
            ps.setString(2, policy);
            ps.setString(3, FIRST.toString());
            ps.setString(4, FIRST.toString());
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    old.add(rs.getString(1));
                }
            }
        }
        assertThat(old).hasSize(1100);

        publish(List.of(completion(UUID.randomUUID().toString(), source, policy, 5)));

        List<BackupsExpired> expired = awaitExpiries(policy, seen -> expiredIds(seen).size() >= old.size());
        assertThat(expired).extracting(e -> e.backupIds().size()).containsExactlyInAnyOrder(1000, 100);
        assertThat(expiredIds(expired)).as("each backup in one event").doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(old);
        assertThat(expired).allSatisfy(e -> assertThat(e.reason()).contains(policy).contains("1 kept"));
        try (java.sql.Connection c = dev.lifeboat.testsupport.Databases.connect(RealServers.DB);
             java.sql.PreparedStatement ps = c.prepareStatement("select count(*) from scheduler.backup_request "
                     + "where policy_id = ? and status = 'EXPIRED' and expired_at is not null")) {
            ps.setString(1, policy);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("rows marked expired").isEqualTo(old.size());
            }
        }
    }

    @Test
    void aCorruptBackupTakesNoSlotAndTheNewestVerifiedBackupIsNeverExpired() {
        String source = unique("src");
        String policy = policyKeepingDays(source, 1);
        String verified = UUID.randomUUID().toString();
        String corrupt = UUID.randomUUID().toString();
        String newest = UUID.randomUUID().toString();
        Instant checked = FIRST.plus(Duration.ofDays(3));
        try (KafkaProducer<String, String> producer = producer()) {
            send(producer, completion(verified, source, policy, 0));
            send(producer, new BackupVerified(verified, source, BackupVerified.FULL, true, List.of(), checked));
            send(producer, completion(corrupt, source, policy, 1));
            send(producer, new BackupVerified(corrupt, source, BackupVerified.FULL, false,
                    List.of("base/1.dat: chunk ab12: authentication tag mismatch"), checked));
            // the store was down during a later run: no verdict, the one before stands
            send(producer, new BackupVerified(corrupt, source, BackupVerified.FULL, false,
                    List.of("manifest unreadable now: connection refused"), checked.plusSeconds(60),
                    BackupVerified.UNREADABLE));
            send(producer, completion(newest, source, policy, 2));
        }

        List<BackupsExpired> expired = awaitExpiries(policy, seen -> expiredIds(seen).contains(corrupt));
        assertThat(expiredIds(expired)).as("one daily slot, yet the fully verified backup is never expired")
                .containsExactly(corrupt);
        given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                .body("keep.backupId", contains(newest, verified))
                .body("keep[0].reasons", containsInAnyOrder("NEWEST", "DAILY"))
                .body("keep[1].reasons", contains("NEWEST_VERIFIED"))
                .body("keep[1].integrity", equalTo("VERIFIED"));
    }

    @Test
    void aBackupExpiredWhileItsFullVerificationRanIsKeptOnceItPassesAndTheOlderVerifiedOneGoesInstead() {
        String source = unique("src");
        String policy = policyKeepingDays(source, 1);
        String older = UUID.randomUUID().toString();
        String middle = UUID.randomUUID().toString();
        String newest = UUID.randomUUID().toString();
        try (KafkaProducer<String, String> producer = producer()) {
            send(producer, completion(older, source, policy, 0));
            send(producer, new BackupVerified(older, source, BackupVerified.FULL, true, List.of(),
                    FIRST.plus(Duration.ofDays(1))));
            send(producer, completion(middle, source, policy, 1));
            send(producer, completion(newest, source, policy, 2));
        }
        assertThat(expiredIds(awaitExpiries(policy, seen -> expiredIds(seen).contains(middle))))
                .as("one daily slot and the older backup is the newest fully verified one").containsExactly(middle);

        // a drill verified the middle backup while retention expired it; storage-worker kept it (its own verdict)
        try (KafkaProducer<String, String> producer = producer()) {
            send(producer, new BackupVerified(middle, source, BackupVerified.FULL, true, List.of(),
                    FIRST.plus(Duration.ofDays(3))));
        }
        List<ConsumerRecord<String, String>> revoked = poll(Topics.BACKUP_EVENTS, r -> policy.equals(r.key())
                && EventType.EXPIRY_REVOKED.ceType().equals(EventCodec.header(r.headers(), EventCodec.H_TYPE)), 1);
        assertThat(revoked).hasSize(1);
        ExpiryRevoked event = (ExpiryRevoked) EventCodec.decode(revoked.getFirst().headers(),
                revoked.getFirst().value()).data();
        assertThat(event.backupIds()).containsExactly(middle);
        assertThat(event.reason()).contains(policy).contains("NEWEST_VERIFIED");
        assertThat(expiredIds(awaitExpiries(policy, seen -> expiredIds(seen).contains(older))))
                .containsExactlyInAnyOrder(middle, older);
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/" + middle).then().statusCode(200)
                .body("status", equalTo("COMPLETED"));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/" + older).then().statusCode(200)
                .body("status", equalTo("EXPIRED"));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                .body("keep.backupId", contains(newest, middle))
                .body("keep[1].reasons", contains("NEWEST_VERIFIED"));
    }

    /**
     * The request rows of {@code completions}, as the scheduler holds them for backups it (or, seen on the requests
     * topic, another system) requested: a completion without one counts in no policy.
     */
    private static void requested(List<BackupCompleted> completions) {
        try {
            VertxContextSupport.subscribeAndAwait(() -> Panache.withTransaction(() -> Panache.getSession()
                    .chain(session -> {
                        io.smallrye.mutiny.Uni<Integer> all = io.smallrye.mutiny.Uni.createFrom().item(0);
                        for (BackupCompleted c : completions) {
                            all = all.chain(() -> session.createNativeQuery("""
                                    insert into scheduler.backup_request (backup_id, source_id, policy_id, backup_type,
                                                                          requested_by, requested_at, status)
                                    values (:id, :source, :policy, :type, 'test-admin', :at, 'REQUESTED')
                                    on conflict (backup_id) do nothing""")
                                    .setParameter("id", UUID.fromString(c.backupId()))
                                    .setParameter("source", c.sourceId())
                                    .setParameter("policy", c.policyId())
                                    .setParameter("type", c.type().name())
                                    .setParameter("at", c.startedAt())
                                    .executeUpdate());
                        }
                        return all;
                    })));
        } catch (Throwable e) {
            throw new IllegalStateException("cannot record the requests of " + completions.size() + " backups", e);
        }
    }

    private static void send(KafkaProducer<String, String> producer, Object event) {
        if (event instanceof BackupCompleted c) {
            requested(List.of(c));
        }
        EventType type = EventType.of(event.getClass());
        String backupId = event instanceof BackupCompleted c ? c.backupId() : ((BackupVerified) event).backupId();
        String sourceId = event instanceof BackupCompleted c ? c.sourceId() : ((BackupVerified) event).sourceId();
        Headers headers = EventCodec.headers(type == EventType.BACKUP_COMPLETED
                ? Ids.eventId(backupId, type) : UUID.randomUUID().toString(), type, "/test/storage-worker", backupId,
                Instant.now());
        try {
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, sourceId, EventCodec.encodeData(event),
                    headers)).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish " + type + " of backup " + backupId, e);
        }
    }

    @Test
    void forgedCompletionsExpireNothing() throws Throwable {
        String source = unique("src");
        String policy = policyKeepingDays(source, 2);
        String otherSource = unique("src");
        policyKeepingDays(otherSource, 2);
        List<String> real = List.of(UUID.randomUUID().toString(), UUID.randomUUID().toString());
        publish(List.of(completion(real.get(0), source, policy, 0), completion(real.get(1), source, policy, 1)));

        // a principal that may write the lifecycle topic (here storage-worker's) publishes what it likes
        String foreign = UUID.randomUUID().toString();
        String future = UUID.randomUUID().toString();
        String marker = UUID.randomUUID().toString();
        String neverRequested = UUID.randomUUID().toString();
        BackupCompleted fromTheFuture = new BackupCompleted(future, source, policy, BackupType.FULL, "lifeboat-backups", "k/" + future,
                "m/" + future, 1, 1, "ab".repeat(32), Instant.now().plus(Duration.ofDays(365)),
                Instant.now().plus(Duration.ofDays(365)), 1, null, null);
        publishUnrequested(List.of(
                // the policy of the source above, claimed by another source's backup: two days newer than the real ones
                completion(foreign, otherSource, policy, 3),
                fromTheFuture,
                // the right source and policy, newer than the real ones, but nobody requested it
                completion(neverRequested, source, policy, 4),
                // no policy: recorded and nothing else; it tells when the ones before it on the partition were handled
                completion(marker, source, null, 2)));

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/" + marker).then().statusCode(200).body("status", equalTo("COMPLETED")));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/" + foreign).then().statusCode(200).body("status", equalTo("COMPLETED")));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/" + neverRequested).then().statusCode(200).body("status", equalTo("COMPLETED")));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/" + future).then().statusCode(404);
        given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                .body("keep.backupId", contains(real.get(1), real.get(0)))
                .body("expire", empty());
        long decisions = VertxContextSupport.subscribeAndAwait(() -> Panache.withSession(() ->
                OutboxEvent.count("eventType = ?1 and messageKey = ?2", EventType.BACKUPS_EXPIRED.ceType(), policy)));
        assertThat(decisions).as("BackupsExpired of the policy").isZero();
    }

    @Test
    void aCompletionReadBeforeItsRequestJoinsThePolicyOnceTheRequestIsSeen() throws Throwable {
        String source = unique("src");
        String policy = policyKeepingDays(source, 1);
        String older = UUID.randomUUID().toString();
        String newer = UUID.randomUUID().toString();
        publish(List.of(completion(older, source, policy, 0)));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                .body("keep.backupId", contains(older)));

        // after an outage the completion of another system's request is read before the request itself
        BackupCompleted early = completion(newer, source, policy, 1);
        publishUnrequested(List.of(early));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/" + newer).then().statusCode(200).body("status", equalTo("COMPLETED")));
        given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then()
                .statusCode(200).body("keep.backupId", contains(older)).body("expire", empty());

        Map<String, Object> request = new java.util.LinkedHashMap<>();
        request.put("backupId", newer);
        request.put("sourceId", source);
        request.put("policyId", policy);
        request.put("type", "FULL");
        request.put("requestedBy", "other-system");
        try (KafkaProducer<String, String> publisher = new KafkaProducer<>(
                LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_PUBLISHER), new StringSerializer(),
                new StringSerializer())) {
            publisher.send(new ProducerRecord<>(Topics.BACKUP_REQUESTED, null, source,
                    new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(request),
                    EventCodec.headers(UUID.randomUUID().toString(), EventType.BACKUP_REQUESTED, "/test/other-system",
                            newer, Instant.now()))).get();
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                .body("keep.backupId", contains(newer)));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> given().auth().oauth2(Tokens.admin())
                .get("/api/v1/backups/" + older).then().statusCode(200).body("status", equalTo("EXPIRED")));
    }

    @Test
    void dryRunShowsWhatALowerCountWouldExpireAndChangesNothing() throws Throwable {
        String source = unique("src");
        String policy = policyKeepingDays(source, 5);
        List<String> ids = new ArrayList<>();
        List<BackupCompleted> completions = new ArrayList<>();
        for (int day = 0; day < 4; day++) {
            ids.add(UUID.randomUUID().toString());
            completions.add(completion(ids.get(day), source, policy, day * 10));
        }
        publish(completions);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                        .body("keep.backupId", contains(ids.get(3), ids.get(2), ids.get(1), ids.get(0))));

        VertxContextSupport.subscribeAndAwait(() -> Panache.withTransaction(() ->
                Policy.update("keepDaily = 1 where id = ?1", policy)));
        for (int i = 0; i < 2; i++) {
            given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/" + policy + "/retention").then().statusCode(200)
                    .body("retention.daily", equalTo(1))
                    .body("keep.backupId", contains(ids.get(3)))
                    .body("expire.backupId", contains(ids.get(2), ids.get(1), ids.get(0)))
                    .body("expire[0].reasons", empty());
        }
        for (String id : ids) {
            given().auth().oauth2(Tokens.admin()).get("/api/v1/backups/" + id).then().statusCode(200).body("status", equalTo("COMPLETED"));
        }
        long decisions = VertxContextSupport.subscribeAndAwait(() -> Panache.withSession(() ->
                OutboxEvent.count("eventType = ?1 and messageKey = ?2", EventType.BACKUPS_EXPIRED.ceType(), policy)));
        assertThat(decisions).isZero();
    }

    @Test
    void dryRunOfAnUnknownPolicyIsAProblem() {
        given().auth().oauth2(Tokens.admin()).get("/api/v1/policies/no-such-policy/retention").then().statusCode(404)
                .contentType("application/problem+json").body("detail", containsString("no-such-policy"));
    }

    @Test
    void aCompletionThatFailsItsSchemaIsDeadLettered() {
        String key = unique("bad");
        Headers headers = EventCodec.headers(EventType.BACKUP_COMPLETED, "/test/retention", key);
        try (KafkaProducer<String, String> producer = producer()) {
            producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, key, "{\"backupId\":\"nope\"}", headers));
        }
        List<ConsumerRecord<String, String>> dead = poll(Topics.DLQ, r -> key.equals(r.key())
                && r.headers().lastHeader("dead-letter-reason") != null, 1);
        assertThat(dead).isNotEmpty();
        assertThat(new String(dead.get(0).headers().lastHeader("dead-letter-reason").value(), StandardCharsets.UTF_8))
                .contains("fails schema");
    }

    /** storage-worker's Kafka principal: the one that writes BackupCompleted. */
    private KafkaProducer<String, String> producer() {
        Map<String, Object> config = new java.util.HashMap<>(
                LocalStack.ensureStarted().kafkaClientConfig("storage-worker"));
        config.put("acks", "all");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    /** Publishes as storage-worker would, in order: one key per source keeps them on one partition. */
    /** Completions of backups the scheduler requested. */
    private void publish(List<BackupCompleted> completions) {
        requested(completions);
        publishUnrequested(completions);
    }

    /** Completions as any principal that may write the lifecycle topic can publish them: of backups never requested. */
    private void publishUnrequested(List<BackupCompleted> completions) {
        try (KafkaProducer<String, String> producer = producer()) {
            for (BackupCompleted c : completions) {
                Headers headers = EventCodec.headers(Ids.eventId(c.backupId(), EventType.BACKUP_COMPLETED),
                        EventType.BACKUP_COMPLETED, "/test/storage-worker", c.backupId(), c.completedAt());
                producer.send(new ProducerRecord<>(Topics.BACKUP_EVENTS, null, c.sourceId(), EventCodec.encodeData(c),
                        headers));
            }
            producer.flush();
        }
    }

    private static List<String> expiredIds(List<BackupsExpired> events) {
        return events.stream().flatMap(e -> e.backupIds().stream()).toList();
    }

    /** Every BackupsExpired of the policy, once {@code done} holds and a little after, to catch duplicates. */
    private List<BackupsExpired> awaitExpiries(String policy, Predicate<List<BackupsExpired>> done) {
        String type = EventType.BACKUPS_EXPIRED.ceType();
        List<BackupsExpired> events = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            consumer.subscribe(List.of(Topics.BACKUP_EVENTS));
            long deadline = System.currentTimeMillis() + 30_000;
            long settle = Long.MAX_VALUE;
            while (System.currentTimeMillis() < Math.min(deadline, settle)) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                    if (policy.equals(r.key()) && type.equals(EventCodec.header(r.headers(), EventCodec.H_TYPE))) {
                        CloudEvent<?> e = EventCodec.decode(r.headers(), r.value());
                        assertThat(e.source()).isEqualTo("/lifeboat/scheduler-service");
                        events.add((BackupsExpired) e.data());
                    }
                }
                if (settle == Long.MAX_VALUE && done.test(events)) {
                    settle = System.currentTimeMillis() + 2_000;
                }
            }
        }
        assertThat(done.test(events)).as("BackupsExpired of %s: %s", policy, events).isTrue();
        return events;
    }

    private List<ConsumerRecord<String, String>> poll(String topic, Predicate<ConsumerRecord<String, String>> match,
                                                      int wanted) {
        List<ConsumerRecord<String, String>> found = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer()) {
            consumer.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            while (found.size() < wanted && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                    if (match.test(r)) {
                        found.add(r);
                    }
                }
            }
        }
        return found;
    }

    private KafkaConsumer<String, String> consumer() {
        Map<String, Object> config = LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN);
        config.put("group.id", "retention-test-" + UUID.randomUUID());
        config.put("auto.offset.reset", "earliest");
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }
}
