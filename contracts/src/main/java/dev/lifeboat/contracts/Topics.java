package dev.lifeboat.contracts;

/** Kafka topic names. They are part of the public interface: other systems publish and read them. */
public final class Topics {
    public static final String BACKUP_REQUESTED = "lifeboat.backup.requested.v1";
    public static final String BACKUP_EVENTS = "lifeboat.backup.events.v1";
    public static final String RECOVERY_COMMANDS = "lifeboat.recovery.commands.v1";
    public static final String RECOVERY_REPLIES = "lifeboat.recovery.replies.v1";
    public static final String RECOVERY_EVENTS = "lifeboat.recovery.events.v1";
    /** Where each physical source's WAL archiving stands (its RPO), reported every few seconds by its archiver. */
    public static final String WAL_STATUS = "lifeboat.wal.status.v1";
    public static final String DLQ = "lifeboat.dlq.v1";
    /** Valid records whose work failed transiently for the whole retry window, kept apart from the dead letters. */
    public static final String PARKED = "lifeboat.parked.v1";

    private Topics() {
    }
}
