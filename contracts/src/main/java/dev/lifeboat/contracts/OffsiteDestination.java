package dev.lifeboat.contracts;

/**
 * A second place a backup is copied to: the repository at {@code bucket}/{@code prefix} on the same object-store
 * endpoint as the primary. {@code prefix} is the repository prefix (it already ends with the source id).
 */
public record OffsiteDestination(String bucket, String prefix) {
}
