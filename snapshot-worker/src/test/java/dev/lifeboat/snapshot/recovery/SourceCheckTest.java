package dev.lifeboat.snapshot.recovery;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.notNullValue;

/**
 * {@code POST /api/v1/sources/{id}/check} against the stack's real PostgreSQL, with roles made for the test: one that
 * reads everything, one that cannot read a table in another schema, a wrong password, a closed port. scheduler-service's
 * source lookups are answered by the test.
 */
@QuarkusTest
@QuarkusTestResource(value = SourceCheckTest.Resource.class, restrictToAnnotatedClass = true)
class SourceCheckTest {
    static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    static final String DB = "check_src_" + RUN;
    static final String READER = "check_reader_" + RUN;
    static final String PARTIAL = "check_partial_" + RUN;
    static final String PASSWORD = "Pw-" + UUID.randomUUID();
    static final String WRONG_PASSWORD = "Wrong-" + UUID.randomUUID();
    static final Map<String, String> SOURCES = new ConcurrentHashMap<>();
    static final Duration DEADLINE = Duration.ofSeconds(10);
    static final int CONCURRENT_CHECKS = 2;
    static HttpServer scheduler;
    static Path passwordFile;
    static Path wrongPasswordFile;
    static Path superPasswordFile;

    /** The stack's servers and scheduler-service's answers, given by the test: the sources it registered. */
    public static class Resource extends RecoveryCommandsTestResource {
        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            try {
                scheduler = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            scheduler.createContext("/api/v1/sources/", exchange -> {
                String path = exchange.getRequestURI().getPath();
                SchedulerAnswer.send(exchange, SOURCES.get(path.substring("/api/v1/sources/".length())));
            });
            scheduler.start();
            config.put("quarkus.rest-client.scheduler.url", "http://127.0.0.1:" + scheduler.getAddress().getPort());
            // a whole check within DEADLINE, each query within a minute: a stalled query ends at the deadline
            config.put("lifeboat.snapshot.check-deadline", DEADLINE.toSeconds() + "s");
            config.put("lifeboat.snapshot.check-timeout", "60s");
            config.put("quarkus.fault-tolerance.\"dev.lifeboat.snapshot.service.SourceCheck/check\".bulkhead.value",
                    String.valueOf(CONCURRENT_CHECKS));
            return config;
        }

        @Override
        public void stop() {
            scheduler.stop(0);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        Databases.createDatabase(DB);
        Databases.execute(DB, """
                CREATE SCHEMA ledger;
                CREATE TABLE public.orders (id serial PRIMARY KEY, item text);
                CREATE TABLE ledger.entries (id bigint PRIMARY KEY, amount numeric);
                INSERT INTO public.orders (item) VALUES ('a'), ('b');
                CREATE ROLE %1$s LOGIN PASSWORD '%3$s';
                GRANT pg_read_all_data TO %1$s;
                CREATE ROLE %2$s LOGIN PASSWORD '%3$s';
                GRANT USAGE ON SCHEMA ledger TO %2$s;
                GRANT SELECT ON ALL TABLES IN SCHEMA public TO %2$s;
                GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO %2$s;
                """.formatted(READER, PARTIAL, PASSWORD));
        Files.createDirectories(RecoveryCommandsTestResource.SECRET_DIR);
        passwordFile = RecoveryCommandsTestResource.SECRET_DIR.resolve("check-" + RUN);
        wrongPasswordFile = RecoveryCommandsTestResource.SECRET_DIR.resolve("check-wrong-" + RUN);
        superPasswordFile = RecoveryCommandsTestResource.SECRET_DIR.resolve("check-super-" + RUN);
        Files.writeString(passwordFile, PASSWORD);
        Files.writeString(wrongPasswordFile, WRONG_PASSWORD);
        Files.writeString(superPasswordFile, LocalStack.ensureStarted().pgSuperPassword());
    }

    @AfterAll
    static void tearDown() throws Exception {
        Databases.dropDatabase(DB);
        Databases.execute("postgres", "DROP ROLE IF EXISTS " + READER + "; DROP ROLE IF EXISTS " + PARTIAL);
        for (Path f : List.of(passwordFile, wrongPasswordFile, superPasswordFile)) {
            Files.deleteIfExists(f);
        }
    }

    static String source(String user, Path password, int port, String method) {
        return source(user, password, port, method, "require");
    }

    static String source(String user, Path password, int port, String method, String sslmode) {
        String id = "chk-" + UUID.randomUUID().toString().substring(0, 8);
        SOURCES.put(id, """
                {"id":"%s","kind":"postgresql","host":"127.0.0.1","port":%d,"database":"%s","username":"%s",
                 "passwordRef":"file:%s","method":"%s","sslmode":"%s"}"""
                .formatted(id, port, DB, user, password, method, sslmode));
        return id;
    }

    static JsonPath check(String id, String token, int status) {
        return RestAssured.given().header("Authorization", Tokens.bearer(token))
                .post("/api/v1/sources/" + id + "/check")
                .then().statusCode(status).extract().jsonPath();
    }

    static int pgPort() {
        return LocalStack.ensureStarted().pgPort();
    }

    @Test
    void aUserWhoReadsEverythingIsReadyWithTheServerVersionAndTheDumpProgramsNamed() {
        JsonPath r = check(source(READER, passwordFile, pgPort(), "logical"), Tokens.operator(), 200);
        assertThat(r.getString("status")).as(r.prettify()).isEqualTo("READY");
        assertThat(r.getList("missing")).isEmpty();
        assertThat(r.getInt("server.versionNum")).isGreaterThanOrEqualTo(140000);
        assertThat(r.getLong("server.databaseBytes")).isPositive();
        assertThat(r.getList("tools.name")).containsExactly("pg_dump", "pg_restore");
        assertThat(r.getString("tools[0].path")).endsWith("/bin/pg_dump");
        assertThat(r.getString("tools[0].version")).contains("pg_dump (PostgreSQL)");
        assertThat(r.getList("satisfied", String.class)).anyMatch(s -> s.contains("pg_read_all_data"));
        assertThat(r.prettify()).doesNotContain(PASSWORD);
    }

    @Test
    void aTableInAnotherSchemaWithoutSelectIsListedWithItsGrant() {
        JsonPath r = check(source(PARTIAL, passwordFile, pgPort(), "logical"), Tokens.admin(), 200);
        assertThat(r.getString("status")).as(r.prettify()).isEqualTo("MISSING");
        assertThat(r.getList("missing.what", String.class)).contains("SELECT on table ledger.entries",
                "pg_read_all_data (or the grants above)");
        assertThat(r.getList("missing.fix", String.class)).contains(
                "GRANT SELECT ON TABLE ledger.entries TO " + PARTIAL + ";");
        assertThat(r.getList("missing.what", String.class)).noneMatch(s -> s.contains("public."));
    }

    @Test
    void aWrongPasswordIsAuthenticationFailedWithoutThePassword() {
        JsonPath r = check(source(READER, wrongPasswordFile, pgPort(), "logical"), Tokens.operator(), 200);
        assertThat(r.getString("status")).isEqualTo("UNREACHABLE");
        assertThat(r.getString("unreachable.reason")).isEqualTo("AUTHENTICATION_FAILED");
        assertThat(r.getString("unreachable.message")).contains("authentication failed for user '" + READER + "'");
        assertThat(r.prettify()).doesNotContain(WRONG_PASSWORD).doesNotContain(PASSWORD);
        assertThat(r.getString("server")).isNull();
    }

    @Test
    void aClosedPortIsRefused() {
        int closed = PhysicalSourceBackupTest.freePort();
        JsonPath r = check(source(READER, passwordFile, closed, "logical"), Tokens.operator(), 200);
        assertThat(r.getString("status")).isEqualTo("UNREACHABLE");
        assertThat(r.getString("unreachable.reason")).isEqualTo("REFUSED");
        assertThat(r.getString("unreachable.message")).contains("connection refused by 127.0.0.1:" + closed);
    }

    @Test
    void aPhysicalSourceAsASuperuserHasReplicationAndAFreeSlot() {
        JsonPath r = check(source("postgres", superPasswordFile, pgPort(), "physical"), Tokens.operator(), 200);
        assertThat(r.getString("status")).as(r.prettify()).isEqualTo("READY");
        assertThat(r.getList("tools.name")).containsExactly("pg_basebackup");
        assertThat(r.getList("satisfied", String.class)).anyMatch(s -> s.startsWith("wal_level "))
                .anyMatch(s -> s.startsWith("replication connections admitted"));
    }

    @Test
    void aPhysicalSourceWithoutReplicationIsToldTheAlterRole() {
        JsonPath r = check(source(READER, passwordFile, pgPort(), "physical"), Tokens.operator(), 200);
        assertThat(r.getString("status")).isEqualTo("MISSING");
        assertThat(r.getList("missing.fix", String.class)).contains("ALTER ROLE " + READER + " REPLICATION;");
    }

    @Test
    void aViewerMayNotCheckAndAnUnknownSourceIsNotFound() {
        String id = source(READER, passwordFile, pgPort(), "logical");
        RestAssured.given().header("Authorization", Tokens.bearer(Tokens.viewer()))
                .post("/api/v1/sources/" + id + "/check").then().statusCode(403);
        check("no-such-source-" + RUN, Tokens.operator(), 404);
        RestAssured.given().header("Authorization", Tokens.bearer(Tokens.operator()))
                .post("/api/v1/sources/Bad%20Id/check").then().statusCode(400);
    }

    @Test
    void aSourceThatStopsAnsweringEndsAtTheDeadlineAndChecksBeyondTheLimitAreTurnedAway() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT_CHECKS);
        try (StallingProxy proxy = new StallingProxy(pgPort())) {
            // plain text, so the proxy sees where the first query starts
            String id = source(READER, passwordFile, proxy.port(), "logical", "disable");
            long started = System.nanoTime();
            List<Future<JsonPath>> stalled = new ArrayList<>();
            for (int i = 0; i < CONCURRENT_CHECKS; i++) {
                stalled.add(pool.submit(() -> check(id, Tokens.operator(), 200)));
            }
            long waitUntil = System.nanoTime() + DEADLINE.toNanos();
            while (proxy.stalled() < CONCURRENT_CHECKS && System.nanoTime() < waitUntil) {
                Thread.sleep(50);
            }
            assertThat(proxy.stalled()).as("checks holding a connection the source no longer answers on")
                    .isEqualTo(CONCURRENT_CHECKS);

            RestAssured.given().header("Authorization", Tokens.bearer(Tokens.operator()))
                    .post("/api/v1/sources/" + id + "/check")
                    .then().statusCode(429).header("Retry-After", notNullValue())
                    .body("detail", containsString("retry in a few seconds"));

            for (Future<JsonPath> f : stalled) {
                JsonPath r = f.get(DEADLINE.toSeconds() + 30, TimeUnit.SECONDS);
                assertThat(r.getString("status")).isEqualTo("UNREACHABLE");
                assertThat(r.getString("unreachable.reason")).isEqualTo("TIMEOUT");
                assertThat(r.getString("unreachable.message"))
                        .contains("did not finish within " + DEADLINE).contains("LIFEBOAT_CHECK_DEADLINE");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started))
                    .as("ended by the check's deadline, not by the one-minute query timeout")
                    .isLessThan(Duration.ofSeconds(45));
        } finally {
            pool.shutdownNow();
        }
        // the limit is on checks running, not a ban: a check of a source that answers goes through again
        JsonPath r = check(source(READER, passwordFile, pgPort(), "logical"), Tokens.operator(), 200);
        assertThat(r.getString("status")).isEqualTo("READY");
    }

    /**
     * Forwards connections to PostgreSQL through start-up and authentication, then stops forwarding at the first
     * query (a plain-text Parse or Query message): a server that accepted the session and then stopped answering.
     */
    static final class StallingProxy implements AutoCloseable {
        private final ServerSocket server;
        private final int upstream;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final AtomicInteger stalled = new AtomicInteger();

        StallingProxy(int upstream) throws IOException {
            this.upstream = upstream;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(this::accept);
        }

        int port() {
            return server.getLocalPort();
        }

        int stalled() {
            return stalled.get();
        }

        private void accept() {
            try {
                while (true) {
                    Socket client = server.accept();
                    Socket pg = new Socket(InetAddress.getLoopbackAddress(), upstream);
                    sockets.add(client);
                    sockets.add(pg);
                    Thread.ofVirtual().start(() -> pump(pg, client, false));
                    Thread.ofVirtual().start(() -> pump(client, pg, true));
                }
            } catch (IOException closed) {
                // the proxy was closed
            }
        }

        private void pump(Socket from, Socket to, boolean fromClient) {
            byte[] buf = new byte[8192];
            boolean stalling = false;
            try (var in = from.getInputStream(); var out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    if (fromClient && !stalling && (buf[0] == 'P' || buf[0] == 'Q')) {
                        stalling = true;
                        stalled.incrementAndGet();
                    }
                    if (!stalling) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException closed) {
                // either side went away
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
