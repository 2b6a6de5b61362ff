package dev.lifeboat.kit.retry;

import java.time.Duration;

/** Work failed transiently for the whole retry window. The message names what, how often, how long and why. */
public class RetriesExhaustedException extends Exception {
    private final int attempts;

    public RetriesExhaustedException(String what, int attempts, Duration elapsed, Throwable last) {
        super(what + " failed transiently " + attempts + " times over " + elapsed.toSeconds() + " s, the retry window "
                + "(lifeboat.retry.window) is over: " + last.getClass().getSimpleName() + ": " + last.getMessage(), last);
        this.attempts = attempts;
    }

    public int attempts() {
        return attempts;
    }
}
