package dev.lifeboat.snapshot.domain;

/** A recovery command cannot be carried out: the reply is FAILED with this message (never a secret). */
public class CommandFailure extends RuntimeException {
    public CommandFailure(String message) {
        super(message);
    }

    public CommandFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
