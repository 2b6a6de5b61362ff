package dev.lifeboat.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Topics;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.TableFingerprint;
import dev.lifeboat.testsupport.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Disaster-recovery plans end to end: the packaged coordinator, storage-worker, snapshot-workers and catalog as
 * separate processes, restoring real backups into real databases through the saga on Kafka.
 */
@ExtendWith(Platform.Shared.class)
@Order(3)
class RecoveryEndToEndIT {
    static final String SOURCE_DB = "e2e_dr_source";
    static final String RUN = Long.toString(System.currentTimeMillis(), 36);
    static final String SOURCE = "dr-" + RUN;
    static Platform platform;
    static HttpServer hooks;
    static final List<String> webhookBodies = new CopyOnWriteArrayList<>();
    static final AtomicInteger failingEndpointCalls = new AtomicInteger();
    static String backupId;
    /** The registered target server every plan here restores into. */
    static final String TARGET = "e2e-local";

    @BeforeAll
    static void backUpTheSource() throws Exception {
        platform = Platform.shared();
        Databases.createDatabase(SOURCE_DB);
        Databases.loadSample(SOURCE_DB, 20);
        platform.registerSource(SOURCE, "127.0.0.1", platform.stack.pgPort(), SOURCE_DB);
        platform.registerTarget(TARGET, "^(drill_|dr_).*");
        hooks = HttpServer.create(new InetSocketAddress("127.0.0.1", platform.hooksPort), 0);
        hooks.createContext("/hook", exchange -> {
            webhookBodies.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        hooks.createContext("/restart-broken", exchange -> {
            failingEndpointCalls.incrementAndGet();
            byte[] body = "backend down".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(500, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        hooks.createContext("/restart-ok", exchange -> {
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        hooks.start();
        Platform.Response accepted = Platform.send("POST", platform.schedulerUrl("/api/v1/backups"),
                Map.of("sourceId", SOURCE, "type", "FULL"));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        backupId = accepted.json().get("backupId").asText();
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Platform.Response r = Platform.send("GET", platform.catalogUrl("/api/v1/backups/" + backupId), null);
            return r.status() == 200 && "COMPLETED".equals(r.json().get("status").asText());
        });
    }

    @AfterAll
    static void stop() {
        if (hooks != null) {
            hooks.stop(0);
        }
        Databases.dropDatabase("dr_resume_" + RUN);
    }

    private static String hookUrl(String path) {
        return "http://127.0.0.1:" + hooks.getAddress().getPort() + path;
    }

    private static Map<String, Object> restoreStep(String database) {
        return Map.of("kind", "RestoreDatabase", "sourceId", SOURCE, "backup", "latest", "target", TARGET,
                "database", database, "jobs", 2);
    }

    /** One QUERY_EQUALS check per table: its row count and content hash must equal the source's. */
    private static List<Map<String, Object>> contentChecks() {
        List<Map<String, Object>> checks = new ArrayList<>();
        TableFingerprint.of(SOURCE_DB).forEach((table, fp) -> {
            String rel = table.replace(".", "\".\"");
            checks.add(Map.of("name", "content of " + table, "kind", "QUERY_EQUALS",
                    "sql", "SELECT count(*) || ':' || md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                            + "FROM (SELECT md5(t::text) AS h FROM ONLY \"" + rel + "\" AS t) AS s",
                    "expected", fp.rowCount() + ":" + fp.contentHash()));
        });
        return checks;
    }

    private static String createPlan(String id, String rto, List<Map<String, Object>> steps) {
        Map<String, Object> plan = new LinkedHashMap<>();
        plan.put("id", id);
        plan.put("name", "DR drill " + id);
        plan.put("rto", rto);
        plan.put("rpo", "PT1H");
        plan.put("steps", steps);
        Platform.Response r = Platform.send("POST", platform.coordinatorUrl("/api/v1/plans"), plan);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return id;
    }

    private static String startRun(String planId, String mode) {
        return startRun(planId, Map.of("mode", mode));
    }

    private static String startRun(String planId, Map<String, Object> body) {
        Platform.Response r = Platform.send("POST", platform.coordinatorUrl("/api/v1/plans/" + planId + "/runs"),
                body);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        return r.json().get("runId").asText();
    }

    private static JsonNode awaitRunEnd(String runId) {
        JsonNode[] last = new JsonNode[1];
        await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500)).until(() -> {
            Platform.Response r = Platform.send("GET", platform.coordinatorUrl("/api/v1/runs/" + runId), null);
            last[0] = r.json();
            return Set.of("SUCCEEDED", "FAILED", "COMPENSATED").contains(r.json().get("status").asText());
        });
        return last[0];
    }

    private static Set<String> databasesLike(String pattern) throws Exception {
        Set<String> names = new HashSet<>();
        try (Connection c = Databases.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT datname FROM pg_database WHERE datname LIKE '" + pattern + "'")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    private static String scratchPrefix(String runId) {
        return "drill_" + runId.substring(0, 8) + "%";
    }

    @Test
    void drillRestoresIdenticalDataMeasuresRtoAndNotifies() throws Exception {
        String plan = createPlan("drill-ok-" + RUN, "PT10M", List.of(
                restoreStep("dr_target_" + RUN),
                Map.of("kind", "VerifyIntegrity", "checksums", true, "checks", contentChecks()),
                Map.of("kind", "NotifyStakeholders", "webhooks", List.of(hookUrl("/hook")))));
        String runId = startRun(plan, "drill");
        JsonNode run = awaitRunEnd(runId);

        assertThat(run.get("status").asText()).as(run.toPrettyString()).isEqualTo("SUCCEEDED");
        JsonNode result = run.get("result");
        assertThat(result.get("success").asBoolean()).isTrue();
        assertThat(result.get("rtoMet").asBoolean()).isTrue();
        assertThat(result.get("rpoMet").asBoolean()).isTrue();
        assertThat(result.get("backupId").asText()).isEqualTo(backupId);
        assertThat(result.get("totalMillis").asLong()).isPositive();
        for (JsonNode step : run.get("steps")) {
            assertThat(step.get("status").asText()).as(step.toString()).isEqualTo("SUCCEEDED");
            assertThat(step.get("durationMillis").asLong()).isNotNegative();
        }
        // every table's row count and content hash in the scratch database equalled the source's (checked by the
        // drill itself, before the scratch database was dropped)
        assertThat(run.toString()).contains("content of shop.orders");
        assertThat(databasesLike(scratchPrefix(runId))).as("scratch database dropped").isEmpty();
        assertThat(databasesLike("dr_target_" + RUN)).as("a drill never touches the plan's real target").isEmpty();
        await().atMost(Duration.ofSeconds(30)).until(() -> webhookBodies.stream().anyMatch(b -> b.contains(runId)));
        JsonNode summary = Platform.JSON.readTree(webhookBodies.stream().filter(b -> b.contains(runId)).findFirst()
                .orElseThrow());
        assertThat(summary.toString()).contains(plan).contains("rtoMet").contains("rpoMet");

        await().atMost(Duration.ofSeconds(30)).until(() ->
                Platform.send("GET", platform.catalogUrl("/api/v1/recoveries/" + runId), null).status() == 200);
        JsonNode recorded = Platform.send("GET", platform.catalogUrl("/api/v1/recoveries/" + runId), null).json();
        assertThat(recorded.get("mode").asText()).isEqualToIgnoringCase("drill");
        assertThat(recorded.get("rtoMet").asBoolean()).isTrue();

        // the same plan with an RTO of one millisecond: the drill still succeeds, the RTO is not met
        Platform.Response put = Platform.send("PUT", platform.coordinatorUrl("/api/v1/plans/" + plan), Map.of(
                "name", "DR drill " + plan, "rto", "PT0.001S", "rpo", "PT1H", "steps", List.of(
                        restoreStep("dr_target_" + RUN),
                        Map.of("kind", "VerifyIntegrity", "checksums", false, "checks", contentChecks()))));
        assertThat(put.status()).as(put.body()).isEqualTo(200);
        JsonNode strict = awaitRunEnd(startRun(plan, "drill"));
        assertThat(strict.get("status").asText()).as(strict.toPrettyString()).isEqualTo("SUCCEEDED");
        assertThat(strict.at("/result/rtoMet").asBoolean()).isFalse();
        assertThat(strict.at("/result/success").asBoolean()).isTrue();
    }

    /**
     * The dashboard in a real browser over this class's real runs: an operator starts a drill and requests a backup
     * from it (both relayed with the operator's own token, so the backup is recorded as theirs) and watches the
     * backup's live progress; a viewer then sees every page with the real data and no action, and a POST of an
     * action in the viewer's session is refused. No page logs a console error.
     */
    @Test
    void dashboardShowsTheRealRunsAndOnlyAnOperatorActs() throws Exception {
        String plan = createPlan("drill-ui-" + RUN, "PT10M", List.of(restoreStep("dr_ui_" + RUN),
                Map.of("kind", "VerifyIntegrity", "checksums", true, "checks", contentChecks())));
        try (DashboardBrowser browser = DashboardBrowser.open(platform.catalogUrl(""))) {
            browser.signIn(Tokens.operator());
            browser.go("/ui/runs");
            browser.find("tr[data-plan='" + plan + "'] button.start-drill").click();
            String runHref = browser.wait(Duration.ofSeconds(30)).until(d -> d.findElements(
                    org.openqa.selenium.By.cssSelector("tr[data-plan='" + plan + "'] .result a")).stream()
                    .map(a -> a.getAttribute("href")).findFirst().orElse(null));
            String runId = runHref.substring(runHref.lastIndexOf('/') + 1);
            JsonNode run = awaitRunEnd(runId);
            assertThat(run.get("status").asText()).as(run.toPrettyString()).isEqualTo("SUCCEEDED");

            browser.go("/ui/sources/" + SOURCE);
            browser.find("button.request-backup").click();
            String backupHref = browser.wait(Duration.ofSeconds(30)).until(d -> d.findElements(
                    org.openqa.selenium.By.cssSelector("#action-result a")).stream()
                    .map(a -> a.getAttribute("href")).findFirst().orElse(null));
            String requested = backupHref.substring(backupHref.lastIndexOf('/') + 1);
            await().atMost(Duration.ofSeconds(30)).until(() -> Platform.send("GET",
                    platform.catalogUrl("/api/v1/backups/" + requested), null).status() == 200);
            browser.go("/ui/backups/" + requested);
            assertThat(browser.find("main").getText()).contains("by test-operator");
            // the page follows the backup's progress stream and reloads itself when it is done (an element read
            // while the page reloads is stale: read it again)
            browser.wait(Duration.ofMinutes(3)).ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                    .until(d -> d.findElement(
                    org.openqa.selenium.By.id("status")).getText().equals("COMPLETED"));
            assertThat(browser.all("#events li")).hasSizeGreaterThanOrEqualTo(3);
            browser.signOut();

            browser.signIn(Tokens.viewer());
            await().atMost(Duration.ofSeconds(30)).until(() -> Platform.send("GET",
                    platform.catalogUrl("/api/v1/recoveries/" + runId), null).status() == 200);
            browser.go("/ui");
            assertThat(browser.find("tr[data-source='" + SOURCE + "']").getText()).contains("ago");
            assertThat(browser.all(".request-backup")).isEmpty();
            browser.screenshot("dashboard-fleet");

            browser.go("/ui/sources/" + SOURCE);
            assertThat(browser.all("#backups tbody tr.status-COMPLETED")).hasSizeGreaterThanOrEqualTo(2);
            assertThat(browser.all(".plot circle")).hasSizeGreaterThanOrEqualTo(4);
            assertThat(browser.all(".request-backup")).isEmpty();
            browser.screenshot("dashboard-source");

            browser.go("/ui/backups/" + backupId);
            assertThat(browser.find("#status").getText()).isEqualTo("COMPLETED");
            assertThat(browser.find("#locations").getText()).contains("PRIMARY");
            assertThat(browser.find("#events").getText()).contains("backup.completed");
            browser.screenshot("dashboard-backup");

            browser.go("/ui/runs");
            assertThat(browser.find("#runs").getText()).contains("SUCCEEDED");
            assertThat(browser.all(".start-drill")).isEmpty();
            browser.screenshot("dashboard-runs");

            browser.go("/ui/runs/" + runId);
            assertThat(browser.all("#steps tbody tr.status-SUCCEEDED")).hasSizeGreaterThanOrEqualTo(2);
            assertThat(browser.find("#rto").getText()).contains("met");
            assertThat(browser.find("#trace").getAttribute("href"))
                    .startsWith(platform.stack.zipkinUrl() + "/zipkin/traces/" + run.get("traceId").asText());
            browser.screenshot("dashboard-run");

            HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create(platform.catalogUrl("/ui/sources/" + SOURCE + "/backups")))
                    .header("Cookie", "lifeboat_session=" + browser.session())
                    .header("Origin", platform.catalogUrl("")).header("HX-Request", "true")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("type=FULL")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
            assertThat(browser.consoleErrors()).isEmpty();
        }
    }

    @Test
    void aFailingSqlCheckCompensatesTheDrillAndNamesTheCheck() throws Exception {
        String plan = createPlan("drill-bad-check-" + RUN, "PT10M", List.of(
                restoreStep("dr_target_bad_" + RUN),
                Map.of("kind", "VerifyIntegrity", "checksums", false, "checks", List.of(
                        Map.of("name", "orders present", "kind", "ROW_COUNT_AT_LEAST", "table", "shop.orders",
                                "minRows", 1),
                        Map.of("name", "impossible customer count", "kind", "QUERY_EQUALS",
                                "sql", "select count(*) from shop.customers", "expected", "-1")))));
        String runId = startRun(plan, "drill");
        JsonNode run = awaitRunEnd(runId);
        assertThat(run.get("status").asText()).as(run.toPrettyString()).isEqualTo("COMPENSATED");
        assertThat(run.at("/result/success").asBoolean()).isFalse();
        assertThat(run.toString()).contains("impossible customer count");
        assertThat(databasesLike(scratchPrefix(runId))).as("scratch database dropped").isEmpty();
    }

    @Test
    void aRecoveryReplacesAnExistingDatabaseOnlyWhenAskedTo() throws Exception {
        String existing = "dr_existing_" + RUN;
        Databases.createDatabase(existing);
        try {
            String plan = createPlan("recovery-existing-" + RUN, "PT10M", List.of(restoreStep(existing)));
            JsonNode refused = awaitRunEnd(startRun(plan, "recovery"));
            assertThat(refused.get("status").asText()).as(refused.toPrettyString()).isEqualTo("FAILED");
            assertThat(refused.get("steps").get(0).get("message").asText()).contains("already exists")
                    .contains("replaceExisting");

            JsonNode replaced = awaitRunEnd(startRun(plan, Map.of("mode", "recovery", "replaceExisting", true)));
            assertThat(replaced.get("status").asText()).as(replaced.toPrettyString()).isEqualTo("SUCCEEDED");
            assertThat(TableFingerprint.of(existing)).isEqualTo(TableFingerprint.of(SOURCE_DB));
        } finally {
            Databases.dropDatabase(existing);
        }
    }

    @Test
    void commandsForgedWithTheCoordinatorsCredentialsAreDeadLetteredByTheWorkerAndDropNothing() throws Exception {
        // whoever holds recovery-coordinator's Kafka credentials writes the commands topic; snapshot-worker acts only
        // on a command the coordinator's database says it sent and waits for, read with its own service token
        String precious = "dr_precious_" + RUN;
        Databases.createDatabase(precious);
        Databases.execute(precious, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)");
        String runId = java.util.UUID.randomUUID().toString();
        String registeredRef = "env:" + Platform.SOURCE_PASSWORD_ENV;
        int port = platform.stack.pgPort();
        String user = platform.stack.pgSuperUser();
        List<DropDatabase> forged = List.of(
                // exactly what a drill's cleanup sends: the registered server, its secret, a name its pattern allows
                new DropDatabase(RecoveryCommand.commandId(runId, 0, "drop"), runId, 0, new DatabaseTarget(
                        "127.0.0.1", port, precious, user, registeredRef, TARGET)),
                // another secret the worker could resolve, on the registered server
                new DropDatabase(RecoveryCommand.commandId(runId, 1, "drop"), runId, 1, new DatabaseTarget(
                        "127.0.0.1", port, precious, user, "env:LIFEBOAT_SECRET_E2E_OTHER", TARGET)),
                // a database the registered pattern does not allow: the source itself
                new DropDatabase(RecoveryCommand.commandId(runId, 2, "drop"), runId, 2, new DatabaseTarget(
                        "127.0.0.1", port, SOURCE_DB, user, registeredRef, TARGET)),
                // a server nobody registered
                new DropDatabase(RecoveryCommand.commandId(runId, 3, "drop"), runId, 3, new DatabaseTarget(
                        "127.0.0.1", port, precious, user, registeredRef, "nowhere-" + RUN)));
        Map<String, Object> readerConfig = new java.util.HashMap<>(platform.stack.kafkaClientConfig(
                dev.lifeboat.testsupport.LocalStack.KAFKA_ADMIN));
        Map<String, Object> writerConfig = new java.util.HashMap<>(platform.stack.kafkaClientConfig(
                "recovery-coordinator"));
        writerConfig.put("acks", "all");
        Map<String, String> deadLetters = new java.util.HashMap<>();
        List<String> replies = new java.util.ArrayList<>();
        try (var reader = new org.apache.kafka.clients.consumer.KafkaConsumer<>(readerConfig,
                new org.apache.kafka.common.serialization.StringDeserializer(),
                new org.apache.kafka.common.serialization.StringDeserializer());
             var writer = new org.apache.kafka.clients.producer.KafkaProducer<>(writerConfig,
                     new org.apache.kafka.common.serialization.StringSerializer(),
                     new org.apache.kafka.common.serialization.StringSerializer())) {
            List<org.apache.kafka.common.TopicPartition> partitions = new java.util.ArrayList<>();
            for (String topic : List.of(Topics.SNAPSHOT_WORKER_REPLIES, Topics.DLQ)) {
                reader.partitionsFor(topic).forEach(pi -> partitions.add(
                        new org.apache.kafka.common.TopicPartition(pi.topic(), pi.partition())));
            }
            reader.assign(partitions);
            reader.seekToEnd(partitions);
            partitions.forEach(reader::position);
            for (DropDatabase d : forged) {
                writer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.RECOVERY_COMMANDS, null,
                        runId, EventCodec.encodeData(d), EventCodec.headers(EventType.DROP_DATABASE,
                        "/lifeboat/recovery-coordinator", runId))).get();
            }
            long quietUntil = Long.MAX_VALUE;
            long giveUp = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            // every forged command dead-lettered, then a few seconds more for a reply that must not come
            while (System.nanoTime() < Math.min(quietUntil, giveUp)) {
                for (var r : reader.poll(Duration.ofMillis(500))) {
                    if (!runId.equals(r.key())) {
                        continue;
                    }
                    if (Topics.DLQ.equals(r.topic())) {
                        DropDatabase d = (DropDatabase) EventCodec.decodeData(EventType.DROP_DATABASE, r.value());
                        deadLetters.put(d.commandId(), new String(r.headers().lastHeader("dead-letter-reason")
                                .value(), java.nio.charset.StandardCharsets.UTF_8));
                    } else {
                        replies.add(r.value());
                    }
                }
                if (deadLetters.size() == forged.size() && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                }
            }
        }
        try {
            assertThat(deadLetters).as("dead letters").hasSize(forged.size());
            for (DropDatabase d : forged) {
                assertThat(deadLetters.get(d.commandId())).contains("sent no command " + d.commandId() + " for run "
                        + runId).contains("nothing was done");
            }
            assertThat(replies).as("a forged command is never answered").isEmpty();
            assertThat(databasesLike(precious)).containsExactly(precious);
            try (var c = Databases.connect(precious); var rs = c.createStatement().executeQuery(
                    "select count(*) from kept")) {
                rs.next();
                assertThat(rs.getLong(1)).as("rows left in the database the forged drop aimed at").isEqualTo(1);
            }
            assertThat(databasesLike(SOURCE_DB)).containsExactly(SOURCE_DB);
        } finally {
            Databases.dropDatabase(precious);
        }
    }

    @Test
    void restartServicesAnswering500FailsAfterItsRetries() {
        int before = failingEndpointCalls.get();
        String plan = createPlan("drill-restart-" + RUN, "PT10M", List.of(
                Map.of("kind", "RestartServices", "timeout", "PT2S", "retries", 2, "endpoints", List.of(
                        Map.of("method", "POST", "url", hookUrl("/restart-ok"), "expectedStatus", 200),
                        Map.of("method", "POST", "url", hookUrl("/restart-broken"), "expectedStatus", 200)))));
        JsonNode run = awaitRunEnd(startRun(plan, "recovery"));
        assertThat(run.get("status").asText()).as(run.toPrettyString()).isIn("FAILED", "COMPENSATED");
        JsonNode step = run.get("steps").get(0);
        assertThat(step.get("status").asText()).isEqualTo("FAILED");
        assertThat(step.get("message").asText()).contains("500").contains("restart-broken");
        assertThat(failingEndpointCalls.get() - before).as("one call and two retries").isEqualTo(3);
    }

    @Test
    void coordinatorKilledDuringARestoreResumesAndNoStepRunsTwice() throws Exception {
        String target = "dr_resume_" + RUN;
        String plan = createPlan("recovery-resume-" + RUN, "PT10M", List.of(restoreStep(target),
                Map.of("kind", "VerifyIntegrity", "checksums", false, "checks", contentChecks())));
        String runId = startRun(plan, "recovery");
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> {
            JsonNode r = Platform.send("GET", platform.coordinatorUrl("/api/v1/runs/" + runId), null).json();
            return r.at("/pending/action").asText().equals("restore");
        });
        platform.coordinator.kill9();
        platform.coordinator = platform.launchCoordinator();
        platform.coordinator.awaitReady(Duration.ofSeconds(120));

        JsonNode run = awaitRunEnd(runId);
        assertThat(run.get("status").asText()).as(run.toPrettyString()).isEqualTo("SUCCEEDED");
        assertThat(TableFingerprint.of(target)).isEqualTo(TableFingerprint.of(SOURCE_DB));
        // the restore ran once: the command re-sent after the restart was answered from the participant's ledger
        // (a second restore would have had to drop and re-create the target)
        String logs = platform.snapshotA.logTail(5000) + platform.snapshotB.logTail(5000);
        assertThat(countOccurrences(logs, ": created database 127.0.0.1:" + platform.stack.pgPort() + "/" + target))
                .as("restores of " + target + " started").isEqualTo(1);
        assertThat(logs).doesNotContain("an earlier attempt created 127.0.0.1:" + platform.stack.pgPort() + "/" + target);
    }

    @Test
    void oneRunIsOneTraceAcrossCoordinatorAndBothWorkers() throws Exception {
        String plan = createPlan("drill-trace-" + RUN, "PT10M", List.of(restoreStep("dr_trace_" + RUN),
                Map.of("kind", "VerifyIntegrity", "checksums", true, "checks", List.of(
                        Map.of("name", "orders present", "kind", "ROW_COUNT_AT_LEAST", "table", "shop.orders",
                                "minRows", 1)))));
        JsonNode run = awaitRunEnd(startRun(plan, "drill"));
        assertThat(run.get("status").asText()).as(run.toPrettyString()).isEqualTo("SUCCEEDED");
        String traceId = run.get("traceId").asText();
        // HTTP/1.1: no h2c upgrade to go wrong; a connection Zipkin closes meanwhile is asked again, within the deadline
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        Set<String> services = new HashSet<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2))
                .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                    URI.create(platform.stack.zipkinUrl() + "/api/v2/trace/" + traceId)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return false;
            }
            services.clear();
            for (JsonNode span : Platform.JSON.readTree(r.body())) {
                services.add(span.at("/localEndpoint/serviceName").asText());
            }
            return services.containsAll(List.of("recovery-coordinator", "storage-worker", "snapshot-worker"));
        });
        assertThat(services).contains("recovery-coordinator", "storage-worker", "snapshot-worker");
    }

    // ---- the lifeboat CLI as a separate process against this platform ------------------------------------------

    private static CliProcess.Result cli(String... args) {
        return CliProcess.run(platform, Tokens.admin(), Duration.ofMinutes(4), args);
    }

    @Test
    void cliSourceCheckConnectsThroughTheWorkerAndNamesTheServerAndItsDumpProgram() {
        CliProcess.Result json = cli("source", "check", SOURCE, "--connection-only", "-o", "json");
        assertThat(json.exit()).as(json.toString()).isIn(0, 1);
        assertThat(json.json().at("/readiness/status").asText()).as(json.toString()).isEqualTo("READY");
        assertThat(json.json().at("/readiness/server/versionNum").asInt()).isGreaterThanOrEqualTo(140000);
        assertThat(json.json().at("/readiness/tools/0/name").asText()).isEqualTo("pg_dump");

        CliProcess.Result table = cli("source", "check", SOURCE, "--connection-only");
        assertThat(table.stdout()).contains("connection").contains("pg_dump").contains("PostgreSQL ");

        // 3: a viewer may not make the worker connect to a source
        CliProcess.Result viewer = CliProcess.run(platform, Tokens.viewer(), Duration.ofMinutes(1), "source", "check",
                SOURCE);
        assertThat(viewer.exit()).as(viewer.toString()).isEqualTo(3);
    }

    @Test
    void cliListsBackupsAsTableAndJsonAndExitsWithItsDocumentedCodes() {
        CliProcess.Result table = cli("backup", "ls", "--source", SOURCE);
        assertThat(table.exit()).as(table.toString()).isZero();
        assertThat(table.stdout().lines().findFirst().orElse("")).startsWith("BACKUP").contains("SOURCE")
                .contains("STATUS").contains("SIZE").contains("VERIFIED");
        assertThat(table.stdout()).contains(backupId).contains("COMPLETED").doesNotContain("\033[");

        CliProcess.Result json = cli("--output", "json", "backup", "ls", "--source", SOURCE);
        assertThat(json.exit()).as(json.toString()).isZero();
        List<String> ids = new ArrayList<>();
        json.json().get("items").forEach(b -> ids.add(b.get("backupId").asText()));
        assertThat(ids).contains(backupId);

        CliProcess.Result yaml = cli("backup", "show", backupId, "-o", "yaml");
        assertThat(yaml.exit()).as(yaml.toString()).isZero();
        assertThat(yaml.stdout()).contains("backupId: \"" + backupId + "\"").contains("status: \"COMPLETED\"");

        // 4: an unknown backup, with the problem's title
        CliProcess.Result unknown = cli("backup", "show", java.util.UUID.randomUUID().toString());
        assertThat(unknown.exit()).as(unknown.toString()).isEqualTo(4);
        assertThat(unknown.stderr()).contains("catalog answered 404");

        // 3: a token the services refuse (401), never echoed
        String forged = Tokens.admin().substring(0, Tokens.admin().lastIndexOf('.') + 1) + "AAAAforged";
        CliProcess.Result refused = CliProcess.run(platform, forged, Duration.ofMinutes(1), "backup", "ls");
        assertThat(refused.exit()).as(refused.toString()).isEqualTo(3);
        assertThat(refused.stderr()).contains("401").doesNotContain(forged).doesNotContain("AAAAforged");
        // 3: a viewer's token may not request a backup (403)
        CliProcess.Result viewer = CliProcess.run(platform, Tokens.viewer(), Duration.ofMinutes(1), "backup", "create",
                SOURCE);
        assertThat(viewer.exit()).as(viewer.toString()).isEqualTo(3);
        assertThat(viewer.stderr()).contains("403");

        // 2: usage
        assertThat(cli("backup", "show", "not-a-uuid").exit()).isEqualTo(2);
        assertThat(cli("no-such-command").exit()).isEqualTo(2);
    }

    @Test
    void cliBacksUpWithProgressAndRestoresTheLatestBackupIdenticalToTheSource() throws Exception {
        // a source of its own, so that the other tests' "latest" stays the backup made at the start
        String source = "cli-" + RUN;
        CliProcess.Result added = cli("source", "add", source, "--host", "127.0.0.1", "--port",
                String.valueOf(platform.stack.pgPort()), "--database", SOURCE_DB, "--username",
                platform.stack.pgSuperUser(), "--password-ref", "env:" + Platform.SOURCE_PASSWORD_ENV);
        assertThat(added.exit()).as(added.toString()).isZero();

        CliProcess.Result backup = cli("backup", "create", source, "--type", "FULL", "--wait", "--wait-timeout", "180");
        assertThat(backup.exit()).as(backup.toString()).isZero();
        assertThat(backup.stdout()).contains("COMPLETED").contains("stored");
        // the progress: one line per update on a pipe, at least the request and a state it passed through
        assertThat(backup.stderr()).contains("requested (FULL of " + source + ")");
        assertThat(backup.stderr().lines().filter(l -> l.matches("^(REQUESTED|RUNNING|SNAPSHOT_CREATED).*")).count())
                .as(backup.toString()).isPositive();

        String database = "dr_cli_" + RUN;
        try {
            CliProcess.Result restore = cli("restore", "latest", "--source", source, "--target", TARGET, "--db",
                    database, "--wait-timeout", "180");
            assertThat(restore.exit()).as(restore.toString()).isZero();
            assertThat(restore.stdout()).contains("step 1 RestoreDatabase SUCCEEDED").contains("SUCCEEDED");
            assertThat(TableFingerprint.of(database)).isEqualTo(TableFingerprint.of(SOURCE_DB));

            // the run is listed and shown
            CliProcess.Result runs = cli("-o", "json", "run", "ls", "--plan", "restore-" + database.replace('_', '-'));
            assertThat(runs.exit()).as(runs.toString()).isZero();
        } finally {
            Databases.dropDatabase(database);
        }
    }

    @Test
    void cliStatusShowsASourceOutsideItsRpo() {
        String source = "cli-rpo-" + RUN;
        assertThat(cli("source", "add", source, "--host", "127.0.0.1", "--port", String.valueOf(platform.stack.pgPort()),
                "--database", SOURCE_DB, "--username", platform.stack.pgSuperUser(), "--password-ref",
                "env:" + Platform.SOURCE_PASSWORD_ENV).exit()).isZero();
        // an RPO of one hour and no backup yet (its only slot is on the first of January)
        CliProcess.Result policy = cli("policy", "add", "--source", source, "--type", "FULL", "--schedule",
                "0 0 1 1 *", "--rpo", "PT1H");
        assertThat(policy.exit()).as(policy.toString()).isZero();

        CliProcess.Result status = cli("status");
        assertThat(status.exit()).as("a source outside its RPO: exit 1\n" + status).isEqualTo(1);
        String line = status.stdout().lines().filter(l -> l.startsWith(source + " ")).findFirst().orElseThrow(
                () -> new AssertionError("no line for " + source + "\n" + status));
        assertThat(line).contains("BREACH").contains("1h00m");
        assertThat(status.stdout()).contains("outside the RPO");

        CliProcess.Result json = cli("status", "-o", "json");
        assertThat(json.exit()).isEqualTo(1);
        JsonNode entry = null;
        for (JsonNode s : json.json().get("sources")) {
            if (s.get("sourceId").asText().equals(source)) {
                entry = s;
            }
        }
        assertThat(entry).as(json.stdout()).isNotNull();
        assertThat(entry.get("rpoCompliant").asBoolean(true)).isFalse();
        assertThat(entry.get("rpoSeconds").asLong()).isEqualTo(3600);
        assertThat(entry.get("lastGoodBackup").isNull()).isTrue();
    }

    private static int countOccurrences(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }
}
