package dev.lifeboat.storage;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import dev.lifeboat.contracts.Topics;
import dev.lifeboat.testsupport.CoordinatorStandIn;
import dev.lifeboat.testsupport.LocalStack;

/**
 * The component test servers and database, plus a commands consumer group that starts at the topic's end, a stand-in
 * for recovery-coordinator's record of the commands it sent, and a manifest cap of 1 MiB.
 */
public class RecoveryCommandsTestResource extends StorageWorkerTestResource {
    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        String group = "storage-worker-test-commands-" + UUID.randomUUID();
        try (Admin admin = Admin.create(LocalStack.ensureStarted().kafkaClientConfig(LocalStack.KAFKA_ADMIN))) {
            String topic = Topics.RECOVERY_COMMANDS;
            Map<TopicPartition, OffsetSpec> latest = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get().get(topic).partitions().stream()
                    .collect(Collectors.toMap(p -> new TopicPartition(topic, p.partition()), p -> OffsetSpec.latest()));
            var ends = admin.listOffsets(latest).all().get();
            admin.alterConsumerGroupOffsets(group, ends.entrySet().stream().collect(Collectors.toMap(
                    Map.Entry::getKey, e -> new OffsetAndMetadata(e.getValue().offset())))).all().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot position consumer group " + group + ": " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        config.put("mp.messaging.incoming.recovery-commands.group.id", group);
        // recovery-coordinator's record of the commands it sent, which the worker reads each command back from
        config.put("quarkus.rest-client.coordinator.url", CoordinatorStandIn.get().url());
        config.put("mp.messaging.incoming.recovery-commands.auto.offset.reset", "earliest");
        // a manifest cap a test can pass with a small object (the default is 256 MiB)
        config.put("lifeboat.repository.max-manifest-bytes", Long.toString(RecoveryCommandsTest.MANIFEST_CAP));
        return config;
    }
}
