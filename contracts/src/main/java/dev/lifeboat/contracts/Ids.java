package dev.lifeboat.contracts;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Deterministic identifiers. Every consumer that derives an id from the same input gets the same id, which
 * is what makes redelivered records and re-emitted events collapse into one (at-least-once delivery).
 */
public final class Ids {
    /** Source and policy ids: they become Kafka keys and object-store path segments, hence the narrow alphabet. */
    public static final String NAME = "^[a-z0-9][a-z0-9._-]{0,62}$";
    public static final String NAME_MESSAGE =
            "must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";
    /** Plan ids (and target server names). */
    public static final String SLUG = "^[a-z0-9][a-z0-9-]{0,62}$";
    public static final String SLUG_MESSAGE = "must be 1-63 characters of a-z, 0-9 or '-', starting with a letter or digit";
    /** Backup and run ids. */
    public static final String UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    public static final String UUID_MESSAGE = "must be a lower-case UUID";

    private Ids() {
    }

    /** The backupId of a BackupRequested that arrived without one: fixed by the record's position in Kafka. */
    public static String backupIdForRecord(String topic, int partition, long offset) {
        return nameUuid("record:" + topic + ":" + partition + ":" + offset);
    }

    /** The backupId of a scheduled backup: one per policy and fire time, however many schedulers fire it. */
    public static String backupIdForSchedule(String policyId, java.time.Instant fireTime) {
        return nameUuid("schedule:" + policyId + ":" + fireTime.toEpochMilli());
    }

    /** The event id of a lifecycle event that happens once per backup (created, completed, failed). */
    public static String eventId(String backupId, EventType type) {
        return nameUuid("event:" + backupId + ":" + type.ceType());
    }

    /**
     * The event id of a retention decision: the same policy expiring the same backups gets the same id, whichever
     * scheduler instance decided it and however often it is re-sent.
     */
    public static String expiryEventId(String policyId, java.util.Collection<String> backupIds) {
        return nameUuid("expired:" + policyId + ":" + String.join(",", new java.util.TreeSet<>(backupIds)));
    }

    /**
     * The event id of a retention decision made because of {@code cause} (a completion, a verification): the same
     * decision re-sent keeps its id, while a later decision expiring the same backups again (after an
     * {@link ExpiryRevoked}) gets another, so that consumers do not take it for a duplicate.
     */
    public static String expiryEventId(String policyId, java.util.Collection<String> backupIds, String cause) {
        return nameUuid("expired:" + policyId + ":" + String.join(",", new java.util.TreeSet<>(backupIds)) + ":" + cause);
    }

    private static String nameUuid(String name) {
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }
}
