package dev.lifeboat.scheduler.rest;

/** User-chosen ids become Kafka keys and object-store path segments, hence the narrow alphabet. */
final class Ids {
    static final String PATTERN = "^[a-z0-9][a-z0-9._-]{0,62}$";
    static final String MESSAGE = "must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    private Ids() {
    }
}
