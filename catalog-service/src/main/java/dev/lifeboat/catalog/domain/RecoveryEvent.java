package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;

import java.time.Instant;
import java.util.Optional;

/** A validated recovery lifecycle event as the catalog records it; {@code dataJson} is its data as stored. */
public record RecoveryEvent(String eventId, EventType type, String runId, Instant occurredAt, Object data,
                            String dataJson) {

    /**
     * The catalog's view of a decoded record from the recovery events topic; empty for a type it does not fold.
     * Throws {@link dev.lifeboat.contracts.InvalidEventException} for a RecoveryFinished whose restore measure is
     * implausible ({@link ClusterRestoreCheck}).
     */
    public static Optional<RecoveryEvent> of(CloudEvent<?> event) {
        String runId = switch (event.data()) {
            case RecoveryStarted s -> s.runId();
            case RecoveryFinished f -> {
                ClusterRestoreCheck.check(f);
                yield f.runId();
            }
            default -> null;
        };
        if (runId == null) {
            return Optional.empty();
        }
        return Optional.of(new RecoveryEvent(event.id(), event.type(), runId, event.time(), event.data(),
                EventCodec.encodeData(event.data())));
    }
}
