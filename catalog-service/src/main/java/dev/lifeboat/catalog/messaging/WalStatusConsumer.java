package dev.lifeboat.catalog.messaging;

import dev.lifeboat.catalog.service.CatalogMetrics;
import dev.lifeboat.catalog.service.RecoveryWindowQueries;
import dev.lifeboat.catalog.service.WalStatusRecorder;
import dev.lifeboat.contracts.CloudEvent;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.kit.messaging.KafkaEvents;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Consumes lifeboat.wal.status.v1 (channel wal-status): the WAL archivers' reports, the newest of each physical
 * source kept for its RPO. Acked after the transaction commits; invalid records nacked into the dead-letter topic;
 * a report that arrives late or twice changes nothing (newest by lease token, then report time).
 */
@ApplicationScoped
public class WalStatusConsumer {
    private static final Logger LOG = Logger.getLogger(WalStatusConsumer.class);
    private static final String CHANNEL = "wal-status";

    private final WalStatusRecorder recorder;
    private final CatalogMetrics metrics;
    private final RetryPolicy retry;
    private final Parking parking;
    private final RecoveryWindowQueries windows;

    public WalStatusConsumer(WalStatusRecorder recorder, CatalogMetrics metrics, RetryPolicy retry, Parking parking,
                             RecoveryWindowQueries windows) {
        this.windows = windows;
        this.recorder = recorder;
        this.metrics = metrics;
        this.retry = retry;
        this.parking = parking;
    }

    @Incoming(CHANNEL)
    public Uni<Void> onWalStatus(Message<String> message) {
        IncomingKafkaRecordMetadata<String, String> kafka = KafkaEvents.kafka(message);
        String origin = kafka.getTopic() + "-" + kafka.getPartition() + "@" + kafka.getOffset();
        CloudEvent<?> decoded;
        try {
            decoded = KafkaEvents.decode(message);
        } catch (InvalidEventException e) {
            // the failure strategy writes the record to lifeboat.dlq.v1 with e's message as dead-letter-reason
            LOG.warnf("%s is not a valid event, dead-lettered: %s", origin, e.getMessage());
            metrics.deadLettered(CHANNEL);
            return Uni.createFrom().completionStage(message.nack(e));
        }
        if (decoded.type() != EventType.WAL_STATUS || !(decoded.data() instanceof WalStatus status)) {
            LOG.debugf("%s is not a WAL archiving status, skipped", origin);
            return Uni.createFrom().completionStage(message.ack());
        }
        return retry.retryingOnContext(origin + ": recording the WAL status of " + status.sourceId(),
                        () -> recorder.record(status).call(() -> refreshWindow(status.sourceId(), origin)))
                .invoke(kept -> {
                    if (kept) {
                        metrics.recorded(EventType.WAL_STATUS);
                    } else {
                        metrics.duplicate(EventType.WAL_STATUS);
                    }
                })
                .chain(() -> Uni.createFrom().completionStage(message.ack()))
                .onFailure(RetriesExhaustedException.class).recoverWithUni(t -> parking
                        .park(message, (RetriesExhaustedException) t)
                        .chain(() -> Uni.createFrom().completionStage(message.ack())));
    }

    /** The window gauges follow the archive; a failure to refresh them neither retries nor holds the record. */
    private Uni<Void> refreshWindow(String sourceId, String origin) {
        return windows.refresh(sourceId).onFailure().recoverWithItem(t -> {
            LOG.debugf("%s: recovery window gauges of %s not refreshed: %s", origin, sourceId, t);
            return null;
        });
    }
}
