package dev.lifeboat.snapshot.messaging;

import dev.lifeboat.contracts.BackupRequested;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.snapshot.service.SnapshotService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;

import java.util.concurrent.CompletionStage;

/**
 * Consumes lifeboat.backup.requested.v1 (keyed by source id, so one source's backups run in order). Invalid
 * records are nacked into lifeboat.dlq.v1; a valid request is acked only after its outcome event is sent.
 */
@ApplicationScoped
public class BackupRequestConsumer {
    @Inject
    SnapshotService snapshots;

    @Incoming("backup-requests")
    @Blocking
    public CompletionStage<Void> consume(Message<String> message) {
        BackupRequested request;
        try {
            CloudEvent<?> event = KafkaEvents.decode(message);
            if (!(event.data() instanceof BackupRequested r)) {
                return message.nack(new IllegalArgumentException("unexpected event type " + event.type().ceType()
                        + " on the backup request topic"));
            }
            request = r;
        } catch (RuntimeException e) {
            return message.nack(e);
        }
        if (request.backupId() == null) {
            IncomingKafkaRecordMetadata<String, String> k = KafkaEvents.kafka(message);
            request = request.withBackupId(Ids.backupIdForRecord(k.getTopic(), k.getPartition(), k.getOffset()));
        }
        snapshots.backup(request);
        return message.ack();
    }
}
