package dev.lifeboat.storage.repository;

import java.time.Instant;

/**
 * A row of {@code storage.storage_job}: long storage work asked for by a state change and run off the sealing path.
 * {@code payload} is JSON whose shape depends on {@code kind}; {@code eventKey} is the Kafka key of its events.
 */
public record StorageJob(long id, Kind kind, String subject, String payload, String eventKey, int attempts,
                         Instant createdAt) {

    public enum Kind {
        /** Copy a sealed backup to its policy's offsite destination and verify the copy; payload: SnapshotCreated. */
        OFFSITE_COPY,
        /** A garbage-collection pass over one repository; payload: {"bucket": ..., "prefix": ...}. */
        GC
    }

    /**
     * A job to be written with the state change that causes it. A {@code held} job does not run before
     * {@link StorageJobRepository#release} (the event announcing that change went out first).
     */
    public record New(Kind kind, String subject, String payload, String eventKey, boolean held) {
        public New released() {
            return new New(kind, subject, payload, eventKey, false);
        }
    }
}
