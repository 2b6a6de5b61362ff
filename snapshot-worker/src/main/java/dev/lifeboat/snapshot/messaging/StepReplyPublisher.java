package dev.lifeboat.snapshot.messaging;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.reactive.messaging.Channel;

import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.kit.recovery.StepReplies;
import io.smallrye.reactive.messaging.MutinyEmitter;

/**
 * Publishes StepReply to snapshot-worker's own reply topic (lifeboat.recovery.replies.snapshot-worker.v1), keyed by run id;
 * awaited, so a lost reply is retried.
 */
@ApplicationScoped
public class StepReplyPublisher {
    static final String SERVICE = "snapshot-worker";
    static final String SOURCE = "/lifeboat/" + SERVICE;

    @Inject
    @Channel("recovery-replies")
    MutinyEmitter<String> emitter;

    public void send(StepReply reply, String json) {
        emitter.sendMessageAndAwait(StepReplies.message(reply, json, SERVICE, SOURCE));
    }
}
