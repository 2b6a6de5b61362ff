package dev.lifeboat.contracts.recovery;

import java.time.Instant;

/** A recovery or drill run started (lifecycle, on {@code lifeboat.recovery.events.v1}, keyed by run id). */
public record RecoveryStarted(String runId, String planId, String planName, RunMode mode, String trigger,
                              long rtoMillis, long rpoSeconds, Instant startedAt) {
}
