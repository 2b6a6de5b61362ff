package dev.lifeboat.scheduler.messaging;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupFailed;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.BackupProgress;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.scheduler.service.BackupResultService;
import dev.lifeboat.scheduler.service.BackupWatchdog;
import dev.lifeboat.scheduler.service.BackupResultService.Outcome;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.util.Set;
import java.util.function.Supplier;

/**
 * Consumes lifeboat.backup.events.v1 (channel backup-results) for BackupCompleted, BackupFailed and BackupVerified
 * (the verdict retention reads), and progress and SnapshotCreated as heartbeats for {@link BackupWatchdog}. Other
 * types on the topic (our own BackupsExpired, types added later) are acked unread. A record
 * is acked only after its transaction commits; a replay after a crash finds the outcome recorded and does nothing.
 */
@ApplicationScoped
public class BackupResultsConsumer {
    private static final Logger LOG = Logger.getLogger(BackupResultsConsumer.class);
    private static final Set<String> HANDLED = Set.of(EventType.BACKUP_COMPLETED.ceType(),
            EventType.BACKUP_FAILED.ceType(), EventType.BACKUP_VERIFIED.ceType(), EventType.BACKUP_PROGRESS.ceType(),
            EventType.SNAPSHOT_CREATED.ceType());

    private final BackupResultService results;
    private final RetryPolicy retry;
    private final Parking parking;
    private final BackupWatchdog watchdog;
    private final OutboxRelay relay;

    public BackupResultsConsumer(BackupResultService results, RetryPolicy retry, Parking parking,
                                 BackupWatchdog watchdog, OutboxRelay relay) {
        this.results = results;
        this.retry = retry;
        this.parking = parking;
        this.watchdog = watchdog;
        this.relay = relay;
    }

    @Incoming("backup-results")
    public Uni<Void> onBackupResult(Message<String> message) {
        IncomingKafkaRecordMetadata<String, String> kafka = KafkaEvents.kafka(message);
        String origin = kafka.getTopic() + "-" + kafka.getPartition() + "@" + kafka.getOffset();
        String ceType = EventCodec.header(kafka.getHeaders(), EventCodec.H_TYPE);
        if (ceType != null && !HANDLED.contains(ceType)) {
            return Uni.createFrom().completionStage(message.ack());
        }
        CloudEvent<?> event;
        try {
            event = KafkaEvents.decode(message);
        } catch (InvalidEventException e) {
            // the failure strategy writes the record to lifeboat.dlq.v1 with e's message as dead-letter-reason
            LOG.warnf("%s is not a valid event, dead-lettered: %s", origin, e.getMessage());
            return Uni.createFrom().completionStage(message.nack(e));
        }
        Supplier<Uni<? extends Outcome>> work = switch (event.data()) {
            case BackupCompleted c -> () -> results.completed(c, event.source());
            case BackupFailed f -> () -> results.failed(f);
            case BackupVerified v -> () -> results.verified(v);
            // heartbeats of running backups, for the watchdog
            case BackupProgress p -> () -> watchdog.progress(p);
            case SnapshotCreated s -> () -> watchdog.snapshotCreated(s);
            default -> () -> Uni.createFrom().item(Outcome.IGNORED);
        };
        // retention may have expired backups (outbox rows): they leave now, not at the relay's next tick
        boolean wake = event.data() instanceof BackupCompleted || event.data() instanceof BackupVerified;
        return untilCommitted(work, origin)
                .invoke(outcome -> LOG.debugf("%s: %s %s", origin, event.type(), outcome))
                .invoke(() -> {
                    if (wake) {
                        relay.wake();
                    }
                })
                .chain(() -> Uni.createFrom().completionStage(message.ack()))
                .onFailure(RetriesExhaustedException.class).recoverWithUni(e -> parking
                        .park(message, (RetriesExhaustedException) e)
                        .chain(() -> Uni.createFrom().completionStage(message.ack())));
    }

    private Uni<Outcome> untilCommitted(Supplier<Uni<? extends Outcome>> work, String origin) {
        return retry.<Outcome>retryingOnContext(origin + ": recording the result", work);
    }
}
