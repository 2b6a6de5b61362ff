package dev.lifeboat.snapshot.service;

import java.time.Duration;
import java.time.Instant;

/**
 * When a backup must have ended: its start plus its policy's maxDuration (or the worker's default). {@code origin}
 * says where the limit comes from, for the reason of a backup stopped at it.
 */
public record Deadline(Instant at, Duration budget, String origin) {

    public static Deadline after(Instant start, Duration budget, String origin) {
        return new Deadline(start.plus(budget), budget, origin);
    }

    public Duration remaining() {
        Duration left = Duration.between(Instant.now(), at);
        return left.isNegative() ? Duration.ZERO : left;
    }

    public boolean passed() {
        return !Instant.now().isBefore(at);
    }

    /** "the maximum duration PT10S of policy 'nightly'": what a person changes to allow more time. */
    public String describe() {
        return "the maximum backup duration " + budget + " (" + origin + ")";
    }
}
