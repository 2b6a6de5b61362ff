package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupCopied;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.BackupDeleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.ExpiryRevoked;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;

import java.time.Instant;
import java.util.List;

/**
 * A validated event as the catalog records it: the backup it belongs to is always known, and {@code dataJson}
 * is its data as stored in the history.
 */
public record CatalogEvent(String eventId, EventType type, String backupId, Instant occurredAt, Object data,
                           String dataJson) {

    /**
     * The catalog's view of a decoded record: one entry per backup it is about, empty for an event type that is
     * about no backup. A BackupsExpired names several backups and goes into the history of each (same event id,
     * same data). A BackupRequested without a backupId gets the id fixed by its place in Kafka, the one the
     * snapshot-worker derives too.
     */
    public static List<CatalogEvent> of(CloudEvent<?> event, String topic, int partition, long offset) {
        Object data = event.data();
        if (data instanceof BackupRequested r && r.backupId() == null) {
            data = r.withBackupId(Ids.backupIdForRecord(topic, partition, offset));
        }
        Object recorded = data;
        String json = EventCodec.encodeData(data);
        return backupIdsOf(data).stream().distinct()
                .map(backupId -> new CatalogEvent(event.id(), event.type(), backupId, event.time(), recorded, json))
                .toList();
    }

    private static List<String> backupIdsOf(Object data) {
        if (data instanceof BackupsExpired x) {
            return x.backupIds() == null ? List.of() : x.backupIds();
        }
        if (data instanceof ExpiryRevoked x) {
            return x.backupIds() == null ? List.of() : x.backupIds();
        }
        String backupId = backupIdOf(data);
        return backupId == null ? List.of() : List.of(backupId);
    }

    private static String backupIdOf(Object data) {
        return switch (data) {
            case BackupRequested r -> r.backupId();
            case BackupProgress p -> p.backupId();
            case SnapshotCreated s -> s.backupId();
            case BackupCompleted c -> c.backupId();
            case BackupFailed f -> f.backupId();
            case BackupVerified v -> v.backupId();
            case BackupDeleted d -> d.backupId();
            case BackupCopied c -> c.backupId();
            case BackupCopyFailed f -> f.backupId();
            default -> null;
        };
    }
}
