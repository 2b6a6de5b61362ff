package dev.lifeboat.snapshot.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

@ConfigMapping(prefix = "lifeboat.snapshot")
public interface SnapshotConfig {
    /** Where pg_dump writes before streaming; each backup gets its own directory, removed afterwards. */
    @WithDefault("${java.io.tmpdir}/lifeboat-spool")
    Path spoolDir();

    /** pg_dump --jobs: parallel table dumps. */
    @WithDefault("2")
    int jobs();

    /**
     * Databases smaller than this many bytes (pg_database_size) are dumped with one job: each parallel worker
     * connects and reads the catalog first, which on a small database costs more than it saves. 0: always
     * {@link #jobs()}.
     */
    @WithDefault("67108864")
    long parallelDumpMinBytes();

    /** Directory holding one bin/ per PostgreSQL major version (Debian: /usr/lib/postgresql/15/bin). */
    @WithDefault("/usr/lib/postgresql")
    Path pgInstallRoot();

    /**
     * Bytes of made-up rows this worker backs up into, and restores from, a throwaway repository in its spool right
     * after it starts, so that its first real backup runs on compiled code instead of paying for the JIT's warm-up
     * (see DataPathWarmup); 0: none.
     */
    @WithDefault("67108864")
    long warmupBytes();

    /** How often a running backup reports BackupProgress (what catalog-service's live progress streams show). */
    @WithDefault("1s")
    Duration progressInterval();

    /** Name of this worker instance in events; defaults to host name and pid. */
    Optional<String> workerId();

    /** Key prefix when the backup's policy names none; the source's repository is {@code <prefix>/<sourceId>}. */
    @WithDefault("backups")
    String defaultPrefix();

    @WithDefault("10")
    int connectTimeoutSeconds();

    /**
     * How long each query of a source check ({@code POST /api/v1/sources/{id}/check}) may take, on top of the connect
     * timeout: a server that accepts the connection and then stops answering fails the check instead of holding it.
     */
    @WithDefault("30s")
    Duration checkTimeout();

    /**
     * How long a whole source check may take, its connections included: when it passes, the check's open
     * connections are closed and it reports the source UNREACHABLE (TIMEOUT), naming this limit.
     */
    @WithDefault("60s")
    Duration checkDeadline();

    /**
     * How long a read from a source or target server may wait (JDBC socketTimeout) before the call fails: a server
     * that stops answering. Longer than any single statement the worker runs there.
     */
    @WithDefault("10m")
    Duration socketTimeout();

    /** TCP keepalive idle time of pg_dump's and pg_restore's connections; a dead peer is noticed after ~2x this. */
    @WithDefault("30s")
    Duration keepaliveIdle();

    /** pg_dump --lock-wait-timeout: how long pg_dump waits for a table lock (never past the backup's deadline). */
    @WithDefault("5m")
    Duration lockWaitTimeout();

    /** The maximum backup duration when the request names no policy (a policy's maxDuration wins). */
    @WithDefault("6h")
    Duration maxDuration();

    /** Backups run at once on this worker, each of another source (one source's backups run in order). */
    @WithDefault("3")
    int concurrentBackups();

    /** Requests taken from Kafka and not finished yet, beyond which consumption pauses. */
    @WithDefault("100")
    int maxPendingRequests();

    /**
     * Record each table's row count and content hash in the backup, taken in the dump's own snapshot, for
     * TABLE_MATCHES_SOURCE checks. Costs one extra read of every table while pg_dump runs.
     */
    @WithDefault("true")
    boolean tableFingerprints();

    /**
     * How long a delivery of a backup that another live worker is running waits for that worker to finish or stop
     * before it is tried again (unacknowledged). Its holder's death ends the wait at once.
     */
    @WithDefault("15m")
    Duration claimWait();

    /**
     * A finished backup is announced again (its manifest, for a request that names it once more) at most once in
     * this time: the scheduler's watchdog asks far more rarely, and a client repeating the request costs the object
     * store nothing more.
     */
    @WithDefault("5m")
    Duration reannounceInterval();
}
