package dev.lifeboat.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;

class LocalStackTest {

    @Test
    void serversListenAndKafkaTopicsExist() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        assertThat(LocalStack.ensureStarted()).isSameAs(stack);
        assertThat(stack.kafkaBootstrap()).startsWith("127.0.0.1:");
        assertThat(stack.jdbcUrl("lifeboat")).isEqualTo("jdbc:postgresql://127.0.0.1:" + stack.pgPort() + "/lifeboat");
        assertThat(Files.isRegularFile(stack.repoRoot().resolve("deploy/local/stack.sh"))).isTrue();
        assertThat(LocalStack.portOpen(stack.pgPort())).isTrue();

        try (Admin admin = Admin.create(stack.kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            List<String> topics = List.of("lifeboat.backup.requested.v1", "lifeboat.backup.events.v1",
                    "lifeboat.recovery.commands.v1", "lifeboat.recovery.replies.snapshot-worker.v1",
                    "lifeboat.recovery.replies.storage-worker.v1", "lifeboat.recovery.events.v1",
                    "lifeboat.wal.status.v1", "lifeboat.dlq.v1", "lifeboat.parked.v1");
            Map<String, TopicDescription> d = admin.describeTopics(topics).allTopicNames().get();
            assertThat(d).hasSize(topics.size());
            d.values().forEach(t -> assertThat(t.partitions()).as(t.name()).hasSize(4));
        }
    }

    @Test
    void lifeboatRoleCanConnect() throws Exception {
        LocalStack stack = LocalStack.ensureStarted();
        try (var c = java.sql.DriverManager.getConnection(stack.jdbcUrl("lifeboat"), "lifeboat", "lifeboat");
             var rs = c.createStatement().executeQuery("SELECT current_user, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = current_user")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("lifeboat");
            assertThat(rs.getBoolean(2)).isTrue();
            assertThat(rs.getBoolean(3)).isTrue();
        }
    }
}
