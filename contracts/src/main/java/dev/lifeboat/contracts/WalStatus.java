package dev.lifeboat.contracts;

import java.time.Instant;

/**
 * Where the continuous WAL archiving of one physical source stands, reported every few seconds by the archiver that
 * owns the source (on {@code lifeboat.wal.status.v1}, keyed by source id). The archive holds every WAL byte up to
 * {@code archivedLsn}; {@code lagSeconds} is how long ago the server was last at a position the archive holds, which
 * is the source's recovery point objective as measured now.
 *
 * @param workerId              the archiver instance that owns the source
 * @param leaseToken            the fencing token of its lease: a report under a lower token is from an earlier owner
 * @param timeline              the server's timeline the archiver streams
 * @param archivedLsn           the last LSN stored in the archive ({@code 16/B374D848}); null before the first upload
 * @param archivedAt            when that LSN was stored
 * @param serverLsn             the server's current WAL position when last asked; null when it could not be asked
 * @param lagBytes              serverLsn minus archivedLsn; null when either is unknown
 * @param lagSeconds            seconds since the server was last at a position the archive holds; null when unknown
 * @param continuityFrom        the oldest segment the continuity check starts at (where the archive's WAL begins)
 * @param lastContiguousSegment the newest complete segment reachable from it without a hole
 * @param gap                   true when a segment is missing between continuityFrom and the newest archived WAL
 * @param firstMissingSegment   the first missing segment when there is a gap
 * @param state                 STREAMING; RECONNECTING while the archiver cannot stream (see {@code error}); REFUSED
 *                              while the archive belongs to another PostgreSQL cluster than the source's server (a
 *                              re-initialised data directory under the same source id): nothing is written until an
 *                              administrator acts, and {@code error} says how
 * @param error                 why it cannot stream, when it cannot; never a credential
 * @param warning               what the archive may lack although streaming goes on (for instance WAL written while
 *                              the source's replication slot was missing, after a failover to a promoted standby);
 *                              null when nothing is known to be at risk. Absent from older archivers
 */
public record WalStatus(String sourceId, String workerId, long leaseToken, int timeline, String archivedLsn,
                        Instant archivedAt, String serverLsn, Long lagBytes, Double lagSeconds, String continuityFrom,
                        String lastContiguousSegment, boolean gap, String firstMissingSegment, String state,
                        String error, Instant reportedAt, String warning) {
    public static final String STREAMING = "STREAMING";
    public static final String RECONNECTING = "RECONNECTING";
    public static final String REFUSED = "REFUSED";

    public WalStatus(String sourceId, String workerId, long leaseToken, int timeline, String archivedLsn,
                     Instant archivedAt, String serverLsn, Long lagBytes, Double lagSeconds, String continuityFrom,
                     String lastContiguousSegment, boolean gap, String firstMissingSegment, String state,
                     String error, Instant reportedAt) {
        this(sourceId, workerId, leaseToken, timeline, archivedLsn, archivedAt, serverLsn, lagBytes, lagSeconds,
                continuityFrom, lastContiguousSegment, gap, firstMissingSegment, state, error, reportedAt, null);
    }
}
