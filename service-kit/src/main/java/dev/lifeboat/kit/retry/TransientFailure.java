package dev.lifeboat.kit.retry;

/**
 * Implemented by a failure that says by its type that the same work done later will pass (another instance still
 * holds the work, a server is away now): {@link Transience} counts it as transient wherever it appears on a cause
 * chain, unless a permanent failure is on the chain too.
 */
public interface TransientFailure {
}
