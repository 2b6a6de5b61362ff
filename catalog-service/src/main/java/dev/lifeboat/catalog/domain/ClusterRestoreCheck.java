package dev.lifeboat.catalog.domain;

import dev.lifeboat.contracts.InvalidEventException;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryFinished.ClusterRestoreMeasure;

/**
 * The plausibility of what a RecoveryFinished says its restore measured: its RestoreCluster step's figures and its
 * steps' durations. The catalog predicts every later RTO of the source from these, so one record with impossible
 * numbers (from a faulty or hostile producer) would mislead operators until the next drill; such a record is
 * dead-lettered with the reason instead. The schema refuses most negative numbers (not a step's duration); this
 * checks the rest and what a schema cannot: the figures against each other.
 */
public final class ClusterRestoreCheck {
    /**
     * Faster than any storage or network a restore reads from today (about 100 GiB/s): a rate above it is a
     * measurement error, not a measurement.
     */
    static final long MAX_BYTES_PER_SECOND = 100L << 30;
    /** A cluster larger than 1 PiB is not something one restore step handles. */
    static final long MAX_BYTES = 1L << 50;
    /** Timings are rounded to milliseconds part by part: their sum may exceed the total by a little. */
    static final long ROUNDING_MILLIS = 1_000;

    private ClusterRestoreCheck() {
    }

    /** Throws {@link InvalidEventException} naming the first implausible figure; nothing when there is no measure. */
    public static void check(RecoveryFinished f) {
        checkSteps(f);
        ClusterRestoreMeasure m = f.clusterRestore();
        if (m == null) {
            return;
        }
        nonNegative("step", m.step());
        nonNegative("baseBytes", m.baseBytes());
        nonNegative("fetchMillis", m.fetchMillis());
        nonNegative("walBytes", m.walBytes());
        nonNegative("replayMillis", m.replayMillis());
        nonNegative("startMillis", m.startMillis());
        nonNegative("totalMillis", m.totalMillis());
        if (m.walFiles() != null) {
            nonNegative("walFiles", m.walFiles());
        }
        if (m.walFetchMillis() != null) {
            nonNegative("walFetchMillis", m.walFetchMillis());
        }
        atMost("baseBytes", m.baseBytes(), MAX_BYTES);
        atMost("walBytes", m.walBytes(), MAX_BYTES);
        plausibleRate("base fetch", "baseBytes", m.baseBytes(), "fetchMillis", m.fetchMillis());
        plausibleRate("WAL replay", "walBytes", m.walBytes(), "replayMillis", m.replayMillis());
        long parts = m.fetchMillis() + m.replayMillis() + m.startMillis();
        if (parts > m.totalMillis() + ROUNDING_MILLIS) {
            throw invalid("its parts (fetchMillis " + m.fetchMillis() + " + replayMillis " + m.replayMillis()
                    + " + startMillis " + m.startMillis() + " = " + parts + ") exceed its totalMillis "
                    + m.totalMillis());
        }
        if (m.totalMillis() > f.totalMillis() + ROUNDING_MILLIS) {
            throw invalid("totalMillis " + m.totalMillis() + " is longer than the whole run's totalMillis "
                    + f.totalMillis());
        }
        if (f.steps() != null && f.steps().stream().noneMatch(s -> s.index() == m.step())) {
            throw invalid("step " + m.step() + " names no step of the run");
        }
    }

    /**
     * No step took negative time, and no restore step longer than the run it is part of (cleanup steps of a drill
     * may run past the run's total, restore steps cannot).
     */
    private static void checkSteps(RecoveryFinished f) {
        if (f.steps() == null) {
            return;
        }
        for (RecoveryFinished.StepOutcome s : f.steps()) {
            Long d = s.durationMillis();
            if (d == null) {
                continue;
            }
            if (d < 0) {
                throw new InvalidEventException("RecoveryFinished.steps[" + s.index() + "] (" + s.kind()
                        + "): durationMillis must not be negative, got " + d);
            }
            if (s.kind() != null && s.kind().startsWith("Restore") && d > f.totalMillis() + ROUNDING_MILLIS) {
                throw new InvalidEventException("RecoveryFinished.steps[" + s.index() + "] (" + s.kind()
                        + "): durationMillis " + d + " is longer than the whole run's totalMillis " + f.totalMillis());
            }
        }
    }

    private static void nonNegative(String field, long value) {
        if (value < 0) {
            throw invalid(field + " must not be negative, got " + value);
        }
    }

    private static void atMost(String field, long value, long max) {
        if (value > max) {
            throw invalid(field + " " + value + " is larger than any cluster a restore step handles (" + max + ")");
        }
    }

    private static void plausibleRate(String what, String bytesField, long bytes, String millisField, long millis) {
        // a part measured as 0 ms still took some time: count it as 1 ms so the limit stays finite
        if (bytes > MAX_BYTES_PER_SECOND / 1000 * Math.max(1, millis)) {
            throw invalid(what + " of " + bytesField + " " + bytes + " in " + millisField + " " + millis
                    + " is faster than " + MAX_BYTES_PER_SECOND + " bytes/s, not a plausible measurement");
        }
    }

    private static InvalidEventException invalid(String detail) {
        return new InvalidEventException("RecoveryFinished.clusterRestore: " + detail);
    }
}
