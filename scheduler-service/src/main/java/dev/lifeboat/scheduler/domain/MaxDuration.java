package dev.lifeboat.scheduler.domain;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * What a policy's maxDuration may be: long enough for a backup to connect and take its locks, short enough that a
 * backup stuck on a lock or a silent server is failed within a week.
 */
public final class MaxDuration {
    public static final Duration MIN = Duration.ofSeconds(10);
    public static final Duration MAX = Duration.ofDays(7);

    private MaxDuration() {
    }

    /** Why the value is refused, empty when it is fine or absent (the default applies). */
    public static Optional<String> problem(String maxDuration) {
        if (maxDuration == null) {
            return Optional.empty();
        }
        Duration d;
        try {
            d = Duration.parse(maxDuration);
        } catch (DateTimeParseException e) {
            return Optional.of("maxDuration '" + maxDuration + "' is not an ISO-8601 duration such as PT6H or PT30M");
        }
        if (d.compareTo(MIN) < 0 || d.compareTo(MAX) > 0) {
            return Optional.of("maxDuration " + d + " is outside " + MIN + " to " + MAX + " (P7D): one backup of the "
                    + "policy may run at most that long before it is stopped and reported FAILED");
        }
        return Optional.empty();
    }
}
