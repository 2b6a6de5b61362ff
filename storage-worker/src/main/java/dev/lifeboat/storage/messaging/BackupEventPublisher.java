package dev.lifeboat.storage.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.lifeboat.contracts.BackupCopyFailed;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.storage.config.StorageConfig;
import dev.lifeboat.storage.repository.DeletedBackup;
import dev.lifeboat.storage.repository.OffsiteCopy;
import dev.lifeboat.storage.repository.SealedBackup;
import io.opentelemetry.context.Context;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.TracingMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.util.UUID;

/**
 * Emits BackupCompleted / BackupFailed / BackupDeleted / BackupVerified / BackupCopied / BackupCopyFailed on channel {@code backup-events} (topic
 * lifeboat.backup.events.v1). The event id and data are the ones stored with the verdict or the deletion, so
 * every emission of one fact carries the same id.
 */
@ApplicationScoped
public class BackupEventPublisher {
    private final MutinyEmitter<String> emitter;
    private final String source;

    public BackupEventPublisher(@Channel("backup-events") MutinyEmitter<String> emitter, StorageConfig config) {
        this.emitter = emitter;
        this.source = config.eventSource();
    }

    /** Returns once Kafka has acknowledged the event (acks=all); throws when it was not written. */
    public void publish(SealedBackup verdict, String key) {
        publish(verdict.outcome().eventType(), verdict.backupId().toString(), verdict.eventId().toString(),
                verdict.eventData(), key);
    }

    /** BackupDeleted, keyed by the backup's source id like the other lifecycle events of the backup. */
    public void publish(DeletedBackup deletion) {
        publish(EventType.BACKUP_DELETED, deletion.backupId().toString(), deletion.eventId().toString(),
                deletion.eventData(), deletion.sourceId());
    }

    /** BackupCopied or BackupCopyFailed as stored, keyed like the SnapshotCreated it answers. */
    public void publish(OffsiteCopy copy, String key) {
        publish(copy.outcome().eventType(), copy.backupId().toString(), copy.eventId().toString(), copy.eventData(),
                key);
    }

    /** A copy given up after transient failures: not stored, so it gets a fresh event id. */
    public void publish(BackupCopyFailed failed, String key) {
        Message<String> message = KafkaEvents.message(UUID.randomUUID().toString(), EventType.BACKUP_COPY_FAILED,
                        key, failed, source)
                .addMetadata(TracingMetadata.withCurrent(Context.current()));
        emitter.sendMessageAndAwait(message);
    }

    /** BackupVerified: each verification run is its own fact, with a fresh event id; keyed by the source id. */
    public void publish(BackupVerified verified) {
        Message<String> message = KafkaEvents.message(UUID.randomUUID().toString(), EventType.BACKUP_VERIFIED,
                        verified.sourceId(), verified, source)
                .addMetadata(TracingMetadata.withCurrent(Context.current()));
        emitter.sendMessageAndAwait(message);
    }

    private void publish(EventType type, String backupId, String eventId, String eventData, String key) {
        Object data;
        try {
            data = EventCodec.mapper().readValue(eventData, type.dataClass());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored " + type.ceType() + " of backup " + backupId
                    + " is unreadable: " + e.getOriginalMessage(), e);
        }
        Message<String> message = KafkaEvents.message(eventId, type, key, data, source)
                // the span of this worker's processing becomes the parent of the produce span (traceparent header)
                .addMetadata(TracingMetadata.withCurrent(Context.current()));
        emitter.sendMessageAndAwait(message);
    }
}
