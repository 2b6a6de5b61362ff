package dev.lifeboat.storage.messaging;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.reactive.messaging.Channel;

import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.kit.recovery.StepReplies;
import dev.lifeboat.storage.config.StorageConfig;
import io.smallrye.reactive.messaging.MutinyEmitter;

/**
 * Publishes StepReply to storage-worker's own reply topic (lifeboat.recovery.replies.storage-worker.v1), keyed by run id;
 * awaited, so a lost reply is retried.
 */
@ApplicationScoped
public class StepReplyPublisher {
    static final String SERVICE = "storage-worker";
    private final MutinyEmitter<String> emitter;
    private final String source;

    public StepReplyPublisher(@Channel("recovery-replies") MutinyEmitter<String> emitter, StorageConfig config) {
        this.emitter = emitter;
        this.source = config.eventSource();
    }

    public void send(StepReply reply, String json) {
        emitter.sendMessageAndAwait(StepReplies.message(reply, json, SERVICE, source));
    }
}
