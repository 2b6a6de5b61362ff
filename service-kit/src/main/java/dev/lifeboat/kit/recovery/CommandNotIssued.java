package dev.lifeboat.kit.recovery;

/**
 * A valid recovery command that recovery-coordinator did not send, or sent otherwise: whoever holds the coordinator's
 * Kafka credentials wrote it. {@link CommandDelivery} dead-letters it with this reason; nothing was done for it and
 * no reply is sent (a reply could answer the genuine command of the same id).
 */
public final class CommandNotIssued extends RuntimeException {
    public CommandNotIssued(String message) {
        super(message);
    }
}
