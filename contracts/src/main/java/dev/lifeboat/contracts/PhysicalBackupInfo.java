package dev.lifeboat.contracts;

import java.time.Instant;

/**
 * Where a physical base backup sits in its source cluster's WAL, for a point-in-time restore: it starts at
 * {@code startLsn} on {@code timeline} (WAL segment {@code startWalSegment}) and is consistent once recovery has
 * replayed up to {@code stopLsn}. The backup's one file {@code base.tar} is pg_basebackup's tar stream of the whole
 * cluster with the WAL from start to stop.
 *
 * @param systemIdentifier the cluster's database system identifier, unsigned, in decimal
 * @param pgVersion        the server's major version, which a restore must run
 * @param startTime        START TIME of the backup; {@code stopTime}: when pg_basebackup reported its end
 */
public record PhysicalBackupInfo(
        String systemIdentifier,
        String pgVersion,
        int timeline,
        String startLsn,
        String stopLsn,
        String startWalSegment,
        Instant startTime,
        Instant stopTime) {
}
