package dev.lifeboat.storage.repository;

import java.time.Instant;
import java.util.UUID;

/**
 * A sealed backup whose objects were deleted after retention expired it, as stored: the BackupDeleted it
 * produced (JSON) and the Kafka key that event travels with (the backup's source id).
 */
public record DeletedBackup(UUID backupId, String sourceId, String policyId, UUID eventId, String eventData,
                            Instant deletedAt) {
}
