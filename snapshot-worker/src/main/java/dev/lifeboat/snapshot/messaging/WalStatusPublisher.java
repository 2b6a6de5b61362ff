package dev.lifeboat.snapshot.messaging;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.kit.messaging.KafkaEvents;
import io.smallrye.reactive.messaging.MutinyEmitter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Channel;

/**
 * Publishes WAL archiving status to lifeboat.wal.status.v1 (channel wal-status), keyed by source id. A status is
 * advisory and replaced by the next one a few seconds later: not awaited, a lost one is not resent.
 */
@ApplicationScoped
public class WalStatusPublisher {
    static final String SOURCE = "/lifeboat/snapshot-worker/archiver";

    @Inject
    @Channel("wal-status")
    MutinyEmitter<String> emitter;

    public void publish(WalStatus status) {
        emitter.sendMessageAndForget(KafkaEvents.message(EventType.WAL_STATUS, status.sourceId(), status, SOURCE));
    }
}
