package dev.lifeboat.storage.repository;

/** The worker's own database did not answer: a transient failure, retried and never turned into a verdict. */
public class StorageDatabaseException extends RuntimeException {
    public StorageDatabaseException(String message, Throwable cause) {
        super(message + (cause == null ? "" : ": " + cause.getMessage()), cause);
    }
}
