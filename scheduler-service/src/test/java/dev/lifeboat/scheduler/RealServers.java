package dev.lifeboat.scheduler;

import dev.lifeboat.testsupport.Databases;
import dev.lifeboat.testsupport.LocalStack;
import dev.lifeboat.testsupport.Tokens;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.HashMap;
import java.util.Map;

/** Real Kafka and PostgreSQL from the local stack; a fresh platform database for this test run. */
public class RealServers implements QuarkusTestResourceLifecycleManager {
    static final String DB = "scheduler_test";

    @Override
    public Map<String, String> start() {
        LocalStack stack = LocalStack.ensureStarted();
        Databases.createDatabase(DB);
        Databases.execute(DB, "alter database " + DB + " owner to lifeboat");
        String hostPort = stack.pgHost() + ":" + stack.pgPort();
        Map<String, String> config = new HashMap<>(stack.quarkusKafkaConfig("scheduler-service"));
        config.putAll(Map.of(
                "quarkus.datasource.jdbc.url", "jdbc:postgresql://" + hostPort + "/" + DB,
                "quarkus.datasource.reactive.url", "postgresql://" + hostPort + "/" + DB,
                "lifeboat.outbox.relay-interval", "200ms",
                "lifeboat.outbox.set-aside-count-interval", "1s",
                // a platform secret inside a secret directory: registration must refuse it by name
                "lifeboat.repository.master-key-file", SourceSecretsApiTest.MASTER_KEY_FILE,
                // not the production group: a scheduler started by another test must not take this one's records
                "mp.messaging.incoming.backup-results.group.id", "scheduler-service-test"));
        config.putAll(Tokens.quarkusConfig());
        return config;
    }

    @Override
    public void stop() {
        // the database stays for inspection; the next run recreates it
    }
}
