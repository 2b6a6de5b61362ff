package dev.lifeboat.recovery;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/** The real PostgreSQL of the local stack (test-support starts it when absent) and a fresh database. */
public class RecoveryTestResource implements QuarkusTestResourceLifecycleManager {
    static final String DATABASE = "recovery_test";
    static final String USER = "lifeboat";
    static final String PASSWORD = "lifeboat";

    @Override
    public Map<String, String> start() {
        LocalStack stack = LocalStack.ensureStarted();
        Databases.dropDatabase(DATABASE);
        // owned by the service's own role, as the lifeboat database is: Flyway creates schema "recovery" in it
        Databases.execute("postgres", "CREATE DATABASE " + DATABASE + " OWNER " + USER);
        return Map.of(
                "quarkus.datasource.jdbc.url", stack.jdbcUrl(DATABASE),
                "quarkus.datasource.reactive.url",
                "postgresql://" + stack.pgHost() + ":" + stack.pgPort() + "/" + DATABASE,
                "quarkus.datasource.username", USER,
                "quarkus.datasource.password", PASSWORD,
                "kafka.bootstrap.servers", stack.kafkaBootstrap());
    }

    @Override
    public void stop() {
        // the server is shared with other modules' tests; the database is dropped by the next run
    }
}
