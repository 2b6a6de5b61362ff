package dev.lifeboat.scheduler.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;

/**
 * Replays of parked records and dead letters: the deadlines, when a claim whose copy was never recorded is settled,
 * and the bounds that keep one replay's memory and one look for copies finite.
 */
@ConfigMapping(prefix = "lifeboat.replay")
public interface ReplayConfig {

    /**
     * The deadline of each read of the parking or dead-letter topic, of each read of the record at a held record's
     * origin place (which a replay compares it with), of each replayed send, of each database step of a replay, and of
     * each look for a stale claim's copy.
     */
    @WithDefault("10s")
    Duration timeout();

    /**
     * A claim whose copy is not recorded this long after it was made is stale: the replay that made it stopped. It is
     * then settled (its copy looked for on the origin topic: recorded when found, the claim released when not). Must
     * be longer than a replay can hold a claim before it records the copy (five times {@link #timeout()}: the send,
     * the broker's answer, the record of the copy, and the look for a copy after a failed send).
     */
    @WithDefault("5m")
    Duration claimStaleAfter();

    /**
     * A look for stale claims' copies reads at most this many records of one origin topic: those stamped within the
     * claims' windows (from a minute before a claim to {@link #claimStaleAfter()} and a minute after it; claims whose
     * windows overlap share one read). A claim whose window holds more stays unconfirmed (an administrator forces its
     * replay, or raises this bound); the claims after it are read on their own.
     */
    @WithDefault("100000")
    int claimCheckMaxRecords();

    /**
     * At most this much of held records (values and headers) is kept for one bulk replay: a dead-letter topic can hold
     * records of up to the broker's largest size, and a thousand of those would not fit the service's heap. The newest
     * past it are left for the next run.
     */
    @WithDefault("64M")
    MemorySize maxHeldBytes();

    /** Rows about held records the holding topic no longer has are deleted this many per statement. */
    @WithDefault("1000")
    int purgeBatch();

    /**
     * How often the replays are kept up: rows about records the holding topics no longer have are deleted and stale
     * claims settled ({@code off} disables it; the list and the replays still do it for the records they touch).
     */
    @WithDefault("5m")
    String upkeepInterval();
}
