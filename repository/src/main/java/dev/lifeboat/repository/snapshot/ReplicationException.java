package dev.lifeboat.repository.snapshot;

/**
 * A copy of a backup cannot be made, and trying again will not help: the destination holds a repository with a
 * different key set, or the source lacks a chunk its manifest lists. Failures of the object stores themselves are
 * other exceptions (worth retrying).
 */
public class ReplicationException extends RuntimeException {
    public ReplicationException(String message) {
        super(message);
    }

    public ReplicationException(String message, Throwable cause) {
        super(message, cause);
    }
}
