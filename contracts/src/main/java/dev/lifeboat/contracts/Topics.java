package dev.lifeboat.contracts;

import java.util.List;
import java.util.Optional;

/** Kafka topic names. They are part of the public interface: other systems publish and read them. */
public final class Topics {
    public static final String BACKUP_REQUESTED = "lifeboat.backup.requested.v1";
    public static final String BACKUP_EVENTS = "lifeboat.backup.events.v1";
    public static final String RECOVERY_COMMANDS = "lifeboat.recovery.commands.v1";
    /**
     * The participants that answer recovery commands. Each writes its replies to a topic of its own, which no other
     * participant may write (the broker's ACLs), so the topic a reply comes on tells the coordinator who sent it.
     */
    public static final List<String> REPLYING_SERVICES = List.of("snapshot-worker", "storage-worker");
    public static final String SNAPSHOT_WORKER_REPLIES = repliesOf("snapshot-worker");
    public static final String STORAGE_WORKER_REPLIES = repliesOf("storage-worker");
    /** Every reply topic, as the coordinator subscribes to them. */
    public static final List<String> RECOVERY_REPLIES = REPLYING_SERVICES.stream().map(Topics::repliesOf).toList();
    public static final String RECOVERY_EVENTS = "lifeboat.recovery.events.v1";
    /** Where each physical source's WAL archiving stands (its RPO), reported every few seconds by its archiver. */
    public static final String WAL_STATUS = "lifeboat.wal.status.v1";
    public static final String DLQ = "lifeboat.dlq.v1";
    /** Valid records whose work failed transiently for the whole retry window, kept apart from the dead letters. */
    public static final String PARKED = "lifeboat.parked.v1";

    private Topics() {
    }

    /** The topic {@code service}'s replies to recovery commands go to: {@code lifeboat.recovery.replies.<service>.v1}. */
    public static String repliesOf(String service) {
        return "lifeboat.recovery.replies." + service + ".v1";
    }

    /** The participant whose reply topic {@code topic} is; empty for any other topic. */
    public static Optional<String> replyingService(String topic) {
        return REPLYING_SERVICES.stream().filter(s -> repliesOf(s).equals(topic)).findFirst();
    }
}
