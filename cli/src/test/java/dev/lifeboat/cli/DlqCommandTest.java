package dev.lifeboat.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code dlq replay} and {@code dlq ls} against a stand-in for scheduler-service's {@code /api/v1/admin/parked} (the
 * real answers are ParkedBulkReplayTest's): the flags reach the body of the right endpoint, and one record and
 * {@code --all} do not mix.
 */
class DlqCommandTest {
    private static final String BULK_ANSWER = "{\"dryRun\":false,\"replayed\":[{\"held\":{\"topic\":\"lifeboat.parked.v1\","
            + "\"partition\":2,\"offset\":17,\"originTopic\":\"lifeboat.backup.requested.v1\",\"eventType\":\"t\","
            + "\"heldAt\":\"2026-12-06T09:00:00Z\"},\"copy\":{\"topic\":\"lifeboat.backup.requested.v1\",\"partition\":1,"
            + "\"offset\":99}}],\"skipped\":[{\"held\":{\"partition\":0,\"offset\":3},\"code\":\"ALREADY_REPLAYED\","
            + "\"reason\":\"replayed at 2026-12-06T10:00:00Z by admin-carol\"}],\"skippedCount\":1,\"remaining\":4,"
            + "\"complete\":true}";

    record Call(String path, String body) {
    }

    @Test
    void replayAllSendsEveryFilterToTheBulkEndpointAndShowsWhatWasReplayedAndSkipped() throws Exception {
        List<Call> calls = new CopyOnWriteArrayList<>();
        HttpServer scheduler = serve(calls, 200, BULK_ANSWER);
        try {
            StringWriter out = new StringWriter();
            int code = run(scheduler, out, "dlq", "replay", "--all", "--from", "dead-letter", "--origin-topic",
                    "lifeboat.backup.events.v1", "--reason-contains", "password authentication failed",
                    "--held-after", "2026-12-06T09:00:00Z", "--held-before", "2026-12-06T10:00:00Z", "--limit", "5",
                    "--yes");
            assertThat(code).isZero();
            assertThat(calls).singleElement().satisfies(c ->
                    assertThat(c.path()).isEqualTo("/api/v1/admin/parked/replay-all"));
            JsonNode body = Api.JSON.readTree(calls.getFirst().body());
            assertThat(body).isEqualTo(Api.JSON.readTree("{\"from\":\"dead-letter\",\"originTopic\":"
                    + "\"lifeboat.backup.events.v1\",\"reasonContains\":\"password authentication failed\","
                    + "\"heldAfter\":\"2026-12-06T09:00:00Z\",\"heldBefore\":\"2026-12-06T10:00:00Z\",\"limit\":5,"
                    + "\"dryRun\":false}"));
            assertThat(out.toString()).contains("lifeboat.backup.requested.v1[1]@99", "ALREADY_REPLAYED",
                    "by admin-carol", "replayed 1, skipped 1, 4 more matching (past --limit: run again)");

            calls.clear();
            assertThat(run(scheduler, new StringWriter(), "dlq", "replay", "--all", "--dry-run")).isZero();
            assertThat(Api.JSON.readTree(calls.getFirst().body()))
                    .isEqualTo(Api.JSON.readTree("{\"from\":\"parked\",\"dryRun\":true}"));
            // without --yes, --all only shows what would be replayed
            calls.clear();
            StringWriter shown = new StringWriter();
            assertThat(run(scheduler, shown, "dlq", "replay", "--all")).isZero();
            assertThat(Api.JSON.readTree(calls.getFirst().body()))
                    .isEqualTo(Api.JSON.readTree("{\"from\":\"parked\",\"dryRun\":true}"));
            assertThat(shown.toString()).contains("would replay 1", "add --yes to replay them");
        } finally {
            scheduler.stop(0);
        }
        String bounded = BULK_ANSWER.replace("\"complete\":true", "\"complete\":true,\"remainingBecause\":\"4 matching"
                + " record(s) left for the next run, past the held records one run keeps in memory\"");
        scheduler = serve(calls, 200, bounded);
        try {
            StringWriter out = new StringWriter();
            assertThat(run(scheduler, out, "dlq", "replay", "--all", "--yes")).isZero();
            assertThat(out.toString()).contains("4 more matching (4 matching record(s) left for the next run, past the"
                    + " held records one run keeps in memory: run again)");
        } finally {
            scheduler.stop(0);
        }
    }

    @Test
    void oneRecordSendsForceAndTheListShowsWhoReplayedIt() throws Exception {
        List<Call> calls = new CopyOnWriteArrayList<>();
        HttpServer scheduler = serve(calls, 200, "{\"topic\":\"lifeboat.backup.events.v1\",\"partition\":0,"
                + "\"offset\":8,\"key\":\"k\",\"eventType\":\"t\"}");
        try {
            assertThat(run(scheduler, new StringWriter(), "dlq", "replay", "--partition", "2", "--offset", "17",
                    "--force")).isZero();
            assertThat(calls.getFirst().path()).isEqualTo("/api/v1/admin/parked/replay");
            assertThat(Api.JSON.readTree(calls.getFirst().body())).isEqualTo(Api.JSON.readTree(
                    "{\"from\":\"parked\",\"partition\":2,\"offset\":17,\"force\":true}"));
        } finally {
            scheduler.stop(0);
        }
        HttpServer lister = serve(calls, 200, "[{\"partition\":2,\"offset\":17,\"heldAt\":\"2026-12-06T09:00:00Z\","
                + "\"originTopic\":\"lifeboat.backup.events.v1\",\"reason\":\"r\",\"replayedAt\":"
                + "\"2026-12-06T10:00:00Z\",\"replayedBy\":\"admin-carol\",\"replayState\":\"REPLAYED\","
                + "\"replayedTo\":\"lifeboat.backup.events.v1-0@8\"},"
                + "{\"partition\":2,\"offset\":18,\"heldAt\":\"2026-12-06T09:00:00Z\",\"replayedAt\":"
                + "\"2026-12-06T10:00:00Z\",\"replayedBy\":\"admin-dan\",\"replayState\":\"IN_FLIGHT\"},"
                + "{\"partition\":2,\"offset\":19,\"heldAt\":\"2026-12-06T09:00:00Z\",\"replayedAt\":"
                + "\"2026-12-06T10:00:00Z\",\"replayedBy\":\"admin-eli\",\"replayState\":\"UNCONFIRMED\","
                + "\"replayUnknown\":\"the look did not finish\"}]");
        try {
            StringWriter out = new StringWriter();
            assertThat(run(lister, out, "dlq", "ls")).isZero();
            assertThat(out.toString()).contains("REPLAYED BY", "admin-carol", "to lifeboat.backup.events.v1-0@8",
                    "in flight", "admin-dan", "unconfirmed: the look did not finish", "admin-eli");
        } finally {
            lister.stop(0);
        }
    }

    @Test
    void aBulkReplayStoppedPartWayShowsWhatWasDoneAndFails() throws Exception {
        List<Call> calls = new CopyOnWriteArrayList<>();
        String stopped = BULK_ANSWER.replace("\"complete\":true", "\"title\":\"Bulk replay stopped part-way\","
                + "\"status\":503,\"detail\":\"replayed 1 record(s), then stopped: sending lifeboat.parked.v1-2@18"
                + " failed\"");
        HttpServer scheduler = serve(calls, 503, stopped);
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Lifeboat.execute(args(scheduler, "dlq", "replay", "--all"), Map.of(), new PrintWriter(out),
                    new PrintWriter(err));
            assertThat(code).isEqualTo(ExitCodes.UNREACHABLE);
            assertThat(out.toString()).contains("lifeboat.backup.requested.v1[1]@99");
            assertThat(err.toString()).contains("then stopped: sending lifeboat.parked.v1-2@18 failed");
        } finally {
            scheduler.stop(0);
        }
    }

    @Test
    void oneRecordAndAllDoNotMix() throws Exception {
        List<Call> calls = new CopyOnWriteArrayList<>();
        HttpServer scheduler = serve(calls, 200, BULK_ANSWER);
        try {
            for (String[] a : new String[][]{
                    {"dlq", "replay", "--all", "--partition", "1", "--offset", "2"},
                    {"dlq", "replay", "--all", "--force"},
                    {"dlq", "replay", "--all", "--dry-run", "--yes"},
                    {"dlq", "replay", "--partition", "1", "--offset", "2", "--yes"},
                    {"dlq", "replay"},
                    {"dlq", "replay", "--partition", "1"},
                    {"dlq", "replay", "--partition", "1", "--offset", "2", "--reason-contains", "x"},
                    {"dlq", "replay", "--all", "--limit", "0"},
                    {"dlq", "replay", "--all", "--held-after", "yesterday"}}) {
                StringWriter err = new StringWriter();
                assertThat(Lifeboat.execute(args(scheduler, a), Map.of(), new PrintWriter(new StringWriter()),
                        new PrintWriter(err))).as(String.join(" ", a)).isEqualTo(ExitCodes.USAGE);
            }
            assertThat(calls).as("nothing reached the server").isEmpty();
        } finally {
            scheduler.stop(0);
        }
    }

    private static int run(HttpServer server, StringWriter out, String... command) {
        return Lifeboat.execute(args(server, command), Map.of(), new PrintWriter(out),
                new PrintWriter(new StringWriter()));
    }

    private static String[] args(HttpServer server, String... command) {
        List<String> all = new java.util.ArrayList<>(List.of(command));
        all.addAll(List.of("--scheduler-url", "http://127.0.0.1:" + server.getAddress().getPort(), "--token", "a.b.c"));
        return all.toArray(String[]::new);
    }

    /** A stand-in scheduler-service answering every path with {@code status} and {@code json}, recording each call. */
    private static HttpServer serve(List<Call> calls, int status, String json) throws java.io.IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            calls.add(new Call(exchange.getRequestURI().getPath(),
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", status == 200 ? "application/json"
                    : "application/problem+json");
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        return server;
    }
}
