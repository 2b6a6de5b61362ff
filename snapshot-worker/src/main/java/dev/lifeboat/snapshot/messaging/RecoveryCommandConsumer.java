package dev.lifeboat.snapshot.messaging;

import java.util.Set;
import java.util.concurrent.CompletionStage;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.kit.messaging.Parking;
import dev.lifeboat.kit.recovery.CommandDelivery;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.snapshot.service.RecoveryCommandService;
import io.smallrye.common.annotation.Blocking;

/**
 * Consumes lifeboat.recovery.commands.v1 (keyed by run id) and acts on RestoreDatabase, VerifyDatabase, DropDatabase, RestoreCluster and RemoveCluster; other
 * commands belong to other participants. Dead letters, tracing and retries: {@link CommandDelivery}.
 */
@ApplicationScoped
public class RecoveryCommandConsumer {
    private final CommandDelivery delivery;

    public RecoveryCommandConsumer(RecoveryCommandService commands, RetryPolicy retry, Parking parking) {
        this.delivery = new CommandDelivery(Set.of(EventType.RESTORE_DATABASE, EventType.VERIFY_DATABASE, EventType.DROP_DATABASE,
                EventType.RESTORE_CLUSTER, EventType.REMOVE_CLUSTER), commands::handle,
                retry, parking);
    }

    @Incoming("recovery-commands")
    @Blocking
    public CompletionStage<Void> consume(Message<String> message) {
        return delivery.deliver(message);
    }
}
