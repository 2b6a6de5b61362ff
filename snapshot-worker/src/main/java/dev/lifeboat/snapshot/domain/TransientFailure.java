package dev.lifeboat.snapshot.domain;

/** The object store failed while a command ran: the command is attempted again, then answered FAILED. */
public class TransientFailure extends RuntimeException {
    public TransientFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
