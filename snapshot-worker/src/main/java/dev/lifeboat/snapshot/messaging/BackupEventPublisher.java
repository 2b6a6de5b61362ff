package dev.lifeboat.snapshot.messaging;

import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.messaging.KafkaEvents;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;

/** Publishes to lifeboat.backup.events.v1, keyed by backup id. Lifecycle events carry deterministic ids. */
@ApplicationScoped
public class BackupEventPublisher {
    static final String SOURCE = "/lifeboat/snapshot-worker";

    @Inject
    @Channel("backup-events")
    MutinyEmitter<String> emitter;

    public void snapshotCreated(SnapshotCreated e) {
        emitter.sendMessageAndAwait(KafkaEvents.message(Ids.eventId(e.backupId(), EventType.SNAPSHOT_CREATED),
                EventType.SNAPSHOT_CREATED, e.backupId(), e, SOURCE));
    }

    public void backupFailed(BackupFailed e) {
        emitter.sendMessageAndAwait(KafkaEvents.message(Ids.eventId(e.backupId(), EventType.BACKUP_FAILED),
                EventType.BACKUP_FAILED, e.backupId(), e, SOURCE));
    }

    /** Progress is advisory: not awaited, a lost one is replaced by the next. */
    public void progress(BackupProgress e) {
        emitter.sendMessageAndForget(KafkaEvents.message(EventType.BACKUP_PROGRESS, e.backupId(), e, SOURCE));
    }
}
