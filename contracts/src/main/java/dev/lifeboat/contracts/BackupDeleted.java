package dev.lifeboat.contracts;

import java.time.Instant;
import java.util.List;

/**
 * A backup expired by retention whose objects the storage-worker deleted (manifest first, then the archive).
 * deletedObjects lists the object locations ({@code s3://bucket/key}) it removed, in deletion order. policyId is
 * the policy whose retention expired it. One per backup; event id {@code Ids.eventId(backupId, BACKUP_DELETED)}.
 */
public record BackupDeleted(String backupId, String sourceId, String policyId, List<String> deletedObjects,
                            Instant deletedAt) {
    public BackupDeleted {
        deletedObjects = deletedObjects == null ? null : List.copyOf(deletedObjects);
    }
}
