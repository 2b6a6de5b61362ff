package dev.lifeboat.storage.repository;

import dev.lifeboat.contracts.EventType;

import java.time.Instant;
import java.util.UUID;

/**
 * The offsite copy of one backup, as stored: where it went, which event it produced and that event's data (JSON).
 * {@code manifestKey} is set only for a copied backup.
 */
public record OffsiteCopy(UUID backupId, Outcome outcome, String bucket, String prefix, String manifestKey,
                          UUID eventId, String eventData, Instant copiedAt) {

    public enum Outcome {
        COPIED(EventType.BACKUP_COPIED), FAILED(EventType.BACKUP_COPY_FAILED);

        private final EventType eventType;

        Outcome(EventType eventType) {
            this.eventType = eventType;
        }

        public EventType eventType() {
            return eventType;
        }
    }
}
