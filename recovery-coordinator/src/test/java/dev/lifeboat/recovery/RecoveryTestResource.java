package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.HashMap;
import java.util.Map;

/**
 * The real PostgreSQL and Kafka of the local stack (test-support starts them when absent), a fresh database, and
 * a stand-in for scheduler-service's GET /api/v1/sources/{id} (a JDK HTTP server answering fixed sources: the
 * real scheduler is another service; the end-to-end tests use it).
 */
public class RecoveryTestResource implements QuarkusTestResourceLifecycleManager {
    static final String DATABASE = "recovery_test";
    static final String USER = "lifeboat";
    static final String PASSWORD = "lifeboat";
    /** Registered in the scheduler stand-in; its live database is 127.0.0.1:25432/orders. */
    static final String SOURCE = "orders";

    static TestHttpServer scheduler;
    /**
     * The port of the services plans restart and notify (a test starts its TestHttpServer there): with port 9
     * (discard, never answers) the only entries of the coordinator's URL allowlist.
     */
    static final String SERVICES_PORT = "test.services-port";

    @Override
    public Map<String, String> start() {
        LocalStack stack = LocalStack.ensureStarted();
        Databases.dropDatabase(DATABASE);
        // owned by the service's own role, as the lifeboat database is: Flyway creates schema "recovery" in it
        Databases.execute("postgres", "CREATE DATABASE " + DATABASE + " OWNER " + USER);
        scheduler = TestHttpServer.start();
        scheduler.respond("/api/v1/sources/" + SOURCE, 200, """
                {"id":"orders","name":"Orders","kind":"POSTGRES","host":"127.0.0.1","port":25432,
                 "database":"orders","username":"backup","passwordRef":"env:ORDERS_DB_PASSWORD"}""");
        int servicesPort = freePort();
        Map<String, String> config = new HashMap<>(Tokens.quarkusConfig());
        config.put(SERVICES_PORT, String.valueOf(servicesPort));
        config.put("lifeboat.recovery.url-allowlist", "http://127.0.0.1:" + servicesPort + "/,http://127.0.0.1:9/");
        config.put("quarkus.datasource.jdbc.url", stack.jdbcUrl(DATABASE));
        config.put("quarkus.datasource.reactive.url",
                "postgresql://" + stack.pgHost() + ":" + stack.pgPort() + "/" + DATABASE);
        config.put("quarkus.datasource.username", USER);
        config.put("quarkus.datasource.password", PASSWORD);
        config.putAll(stack.quarkusKafkaConfig("recovery-coordinator"));
        config.put("lifeboat.recovery.scheduler-url", scheduler.baseUrl());
        config.put("lifeboat.recovery.timeout-check-interval", "200ms");
        // not the production group: a coordinator started by another test must not take this one's replies
        config.put("mp.messaging.incoming.step-replies.group.id", "recovery-coordinator-test");
        config.putAll(Tokens.quarkusConfig());
        config.put("lifeboat.service-auth.token-file", Tokens.serviceTokenFile("recovery-coordinator"));
        return config;
    }

    private static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void stop() {
        if (scheduler != null) {
            scheduler.stop();
        }

        // the PostgreSQL server is shared with other modules' tests; the database is dropped by the next run
    }
}
