package dev.lifeboat.storage.repository;

import dev.lifeboat.contracts.EventType;

import java.time.Instant;
import java.util.UUID;

/**
 * The verdict on one backup, as stored: which event it produced and that event's data (JSON).
 * {@code manifestKey} is set only for a completed backup.
 */
public record SealedBackup(UUID backupId, Outcome outcome, String manifestKey, UUID eventId, String eventData,
                           Instant sealedAt) {

    public enum Outcome {
        COMPLETED(EventType.BACKUP_COMPLETED), FAILED(EventType.BACKUP_FAILED);

        private final EventType eventType;

        Outcome(EventType eventType) {
            this.eventType = eventType;
        }

        public EventType eventType() {
            return eventType;
        }
    }
}
