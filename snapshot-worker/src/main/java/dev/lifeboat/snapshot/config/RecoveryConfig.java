package dev.lifeboat.snapshot.config;

import java.time.Duration;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** How snapshot-worker carries out recovery saga commands on target database servers. */
@ConfigMapping(prefix = "lifeboat.recovery")
public interface RecoveryConfig {
    /** Database on a target server to connect to for CREATE / DROP DATABASE. */
    @WithDefault("postgres")
    String maintenanceDatabase();

    /** Statement timeout of each SQL check of a VerifyDatabase (and of each row count after a restore). */
    @WithDefault("30s")
    Duration statementTimeout();

    /**
     * Role that QUERY_EQUALS checks run as: never superuser nor a member of pg_execute_server_program,
     * pg_read_server_files or pg_write_server_files (checked before every use). Without
     * {@link #checkerPasswordRef()} the worker creates it (NOLOGIN, as the target user, which then needs CREATEROLE)
     * and gives it a fresh random password only while checks run.
     */
    @WithDefault("lifeboat_checker")
    String checkerRole();

    /** Secret reference of the password of a checker role provisioned by the database's administrators. */
    java.util.Optional<String> checkerPasswordRef();

    /** Values reported back from checks (actual, expected, error text) are cut to this many characters. */
    @WithDefault("200")
    int checkValueMaxChars();

    /** pg_restore --jobs when the command asks for none (jobs <= 0). */
    @WithDefault("2")
    int defaultJobs();

    /**
     * Feed the tables' data into pg_restore through named pipes while it runs, fetched from the repository as
     * pg_restore asks for it, instead of fetching the whole dump before pg_restore starts. Off: the dump is fetched
     * whole first (pg_restore then schedules its parallel jobs largest table first).
     */
    @WithDefault("true")
    boolean streamIntoPgRestore();

    /**
     * Whom a RestoreDatabase runs pg_restore as, and so whose rights the dump's own code has while it loads (a CHECK
     * constraint's function, an index expression, a row-level security policy its source's owner wrote):
     * {@code restore-role}, a role made for the restored database (NOSUPERUSER, NOCREATEDB, NOCREATEROLE, no
     * memberships), which owns it and everything in it; or {@code target-user}, the registered target user itself,
     * for dumps that need more than a database owner may do (an extension only a superuser creates, an event
     * trigger) of sources whose owners you trust.
     */
    @WithDefault("restore-role")
    RestoreOwner restoreOwner();

    enum RestoreOwner {
        RESTORE_ROLE, TARGET_USER
    }

    /** Point-in-time restores (RestoreCluster) into new PostgreSQL clusters on this worker's host. */
    Cluster cluster();

    /** PostgreSQL's recovery_init_sync_method values. */
    enum InitSyncMethod {
        FSYNC, SYNCFS;

        public String setting() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    interface Cluster {
        /**
         * Directories under which a restore may create a data directory (absolute). None: every RestoreCluster is
         * refused. A registered cluster target names one of them; nothing outside them is ever created or removed.
         */
        java.util.Optional<java.util.List<String>> dataRoots();

        /** The ports a restored cluster may listen on (127.0.0.1 only), as {@code first-last}. */
        @WithDefault("5433-5499")
        String ports();

        /** The OS user PostgreSQL runs as when the worker runs as root (PostgreSQL refuses to run as root). */
        @WithDefault("postgres")
        String osUser();

        /** WAL files fetched, decrypted and checked ahead of replay at once. */
        @WithDefault("4")
        int prefetch();

        /**
         * Base backup chunks fetched, decrypted and checked ahead of extraction at once. Reading one chunk is
         * mostly waiting for the object store, so many in flight keep the disk busy; memory is about two chunks (at
         * most 2 MiB each) per chunk in flight; at most 64.
         */
        @WithDefault("16")
        int chunksInFlight();

        /**
         * Threads writing a base backup's files while its stream is read and its chunks decrypted (positional
         * writes, four 1 MiB buffers each): two to four let both overlap on a small machine; at most 16.
         */
        @WithDefault("3")
        int extractWriters();

        /**
         * Whether the base backup's files are written with direct I/O where the file system takes it: no copy
         * through the page cache, and nothing left for PostgreSQL's sync of the data directory to write out.
         */
        @WithDefault("true")
        boolean directIo();

        /**
         * How a restored cluster (PostgreSQL 14 and later) makes the extracted files durable before replay
         * ({@code recovery_init_sync_method}): {@code syncfs} syncs the file system that holds them in one call (on
         * Linux 5.8 and later it reports write errors like fsync does; it also writes out other programs' pending
         * data on that file system), {@code fsync} opens and syncs every file.
         */
        @WithDefault("syncfs")
        InitSyncMethod initSyncMethod();

        /** How long restore_command waits for a WAL file the prefetcher is still fetching. */
        @WithDefault("120s")
        Duration walWait();

        /** From starting PostgreSQL until recovery reached its target, promoted and accepts connections. */
        @WithDefault("30m")
        Duration recoveryTimeout();

        /**
         * The role of a restored cluster (a superuser of the source) through which VerifyDatabase prepares the
         * checker role there: role commands only, nothing the source's copy can hook; the checks themselves run as
         * the checker role. It logs in only over the restored cluster's private local socket, by peer
         * authentication of this worker's OS user: a restore maps that OS user to this role and to the checker
         * role, and to nothing else.
         */
        @WithDefault("postgres")
        String checkUser();

        /** pg_ctl stop of a cluster being removed; also how long extraction waits for one file write. */
        @WithDefault("60s")
        Duration stopTimeout();
    }
}
