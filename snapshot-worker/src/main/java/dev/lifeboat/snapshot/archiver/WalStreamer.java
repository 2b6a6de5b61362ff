package dev.lifeboat.snapshot.archiver;

import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.repository.wal.ForeignClusterException;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.repository.wal.WalGapCheck;
import dev.lifeboat.repository.wal.WalNames;
import dev.lifeboat.snapshot.service.SourceConnection;
import org.jboss.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Streams the WAL of one physical source into its archive while this worker holds the source's lease, over the
 * replication protocol (pgjdbc's replication API) through a physical replication slot of the source.
 * <p>
 * The segment being received is kept in memory; a complete segment goes to the archive whole, and the segment being
 * written is uploaded as its partial ({@link WalArchive.PartialWriter}: what is new as a piece, now and then the whole
 * prefix as its base) every partial interval when it grew. Only
 * then is the position reported to the server as flushed, so the slot keeps every WAL byte that is not in the
 * archive yet: whoever owns the source next (this worker after a reconnect, another after a failover) starts again
 * at the beginning of the segment holding the slot's position, and nothing received but not archived is lost with a
 * dead owner. Nothing is written to local disk but the CA certificate of the source in the worker's spool.
 */
final class WalStreamer implements Runnable {
    private static final Logger LOG = Logger.getLogger(WalStreamer.class);
    private static final String DUPLICATE_OBJECT = "42710";
    /** How many server positions are kept to measure the lag in seconds (one per partial interval). */
    private static final int MAX_SAMPLES = 4096;

    /** What a streamer needs from its worker. */
    interface Context {
        ArchiverConfig config();

        /** Connection details of the source (password resolved), fresh for each (re)connection. */
        SourceConnection connect(String sourceId);

        /** The source's repository: its base backups and, for the cluster's segment size, its WAL archive. */
        Repository repository(String sourceId);

        LeaseStore leases();

        int connectTimeoutSeconds();

        String workerId();
    }

    private final Context context;
    private final String sourceId;
    private final Supplier<LeaseStore.Lease> lease;
    private final Consumer<WalStatus> statusSink;
    private final String slot;
    private volatile boolean stopped;
    private volatile Thread thread;
    private volatile PGReplicationStream stream;
    private volatile Connection replication;

    // everything below is written by the streaming thread; status() reads it from there too
    private final Deque<long[]> samples = new ArrayDeque<>(); // {serverLsn, epochMillis}
    private final long startedAtMillis = System.currentTimeMillis();
    /** Before this time every transaction was archived, as the source's previous owner last measured; -1: unknown. */
    private volatile long inheritedHorizonMillis = -1;
    /** What this streamer last recorded as {@link LeaseStore#archivedThrough}. */
    private long recordedHorizonMillis = -1;
    private volatile int timeline;
    private volatile long archivedLsn = -1;
    private volatile Instant archivedAt;
    private volatile long serverLsn = -1;
    private volatile String error;
    private volatile boolean streaming;
    private volatile WalStatus lastStatus;
    private volatile String warning;
    /** The segment the archive resumed at after the slot was re-created; the warning holds until it is contiguous. */
    private volatile long warnedSegment = -1;
    /** Set when this streamer re-created the slot: streaming resumes at the archive's position, not the slot's. */
    private volatile boolean resumeFromArchive;
    private volatile SourceConnection lastSource;
    /** Why the archive refuses the server (another cluster than the archive's); null while it accepts it. */
    private volatile String refused;
    /** The system identifier of the cluster this streamer archives, once its archive accepted it. */
    private volatile String systemIdentifier;
    /** What this streamer last recorded as {@link LeaseStore#archiveHead}. */
    private volatile LeaseStore.ArchiveHead recordedHead;
    private WalGapCheck gapCheck;

    WalStreamer(Context context, String sourceId, Supplier<LeaseStore.Lease> lease, Consumer<WalStatus> statusSink) {
        this.context = context;
        this.sourceId = sourceId;
        this.lease = lease;
        this.statusSink = statusSink;
        this.slot = slotName(context.config().slotPrefix(), sourceId);
    }

    /**
     * The slot of a source: the prefix and the source id with everything but a-z, 0-9 and _ replaced by _, cut to
     * PostgreSQL's 63 characters; a short hash of the id keeps two ids that map alike apart.
     */
    static String slotName(String prefix, String sourceId) {
        String cleaned = sourceId.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        String name = prefix.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_") + cleaned;
        if (name.equals(prefix + sourceId) && name.length() <= 63) {
            return name;
        }
        String hash = Integer.toHexString(sourceId.hashCode() & 0x7fffffff);
        return (name.length() > 54 ? name.substring(0, 54) : name) + "_" + hash;
    }

    String slot() {
        return slot;
    }

    String sourceId() {
        return sourceId;
    }

    void start() {
        Thread t = Thread.ofPlatform().name("wal-archiver-" + sourceId).daemon(true).unstarted(this);
        thread = t;
        t.start();
    }

    /** Stops streaming at once: the replication connection is closed under the reader. */
    void stop() {
        stopped = true;
        closeQuietly(replication);
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
    }

    /** Waits for the streaming thread to end. */
    boolean awaitStopped(Duration timeout) throws InterruptedException {
        Thread t = thread;
        return t == null || t.join(timeout);
    }

    boolean running() {
        Thread t = thread;
        return t != null && t.isAlive();
    }

    @Override
    public void run() {
        inheritHorizon();
        Duration backoff = context.config().restartInitialBackoff();
        while (active()) {
            try {
                streamOnce();
                backoff = context.config().restartInitialBackoff();
            } catch (Exception e) {
                streaming = false;
                if (!active()) {
                    break;
                }
                error = e instanceof ArchiveRefused ? e.getMessage() : describe(e);
                if (resumeFromArchive && error.contains("has already been removed")) {
                    // the server recycled the WAL before the slot was re-created: resume at the slot's position
                    resumeFromArchive = false;
                    warning = "source " + sourceId + ": the server no longer holds the WAL from the archive's "
                            + "position to where replication slot " + slot + " was re-created (" + error
                            + "); the archive has a gap there, see the continuity check";
                    LOG.warn(warning);
                }
                if (e instanceof ArchiveRefused) {
                    // said once when it began (claim); asked again at every attempt until an administrator acts
                    LOG.debugf("source %s still refused; asking again in %s", sourceId, backoff);
                } else {
                    LOG.warnf("WAL archiving of source %s stopped: %s; streaming again in %s", sourceId, error,
                            backoff);
                }
                publishStatus();
                if (!sleep(backoff)) {
                    break;
                }
                backoff = backoff.multipliedBy(2);
                if (backoff.compareTo(context.config().restartMaxBackoff()) > 0) {
                    backoff = context.config().restartMaxBackoff();
                }
            }
        }
        streaming = false;
        closeQuietly(replication);
        LOG.infof("WAL archiving of source %s ended on this worker (%s)", sourceId,
                stopped ? "stopped" : "lease no longer held");
    }

    /** Reads where the previous owner left the archive's horizon: the lag counts from there until this one's own. */
    void inheritHorizon() {
        try {
            context.leases().archivedThrough(sourceId).ifPresent(at -> inheritedHorizonMillis = at.toEpochMilli());
        } catch (SQLException | RuntimeException e) {
            LOG.debugf("source %s: cannot read the archive's horizon from the lease: %s", sourceId, e.getMessage());
        }
    }

    /** Records the horizon the reported lag stands for, for whoever owns the source next. */
    private void recordHorizon(LeaseStore.Lease held, long horizonMillis) {
        if (horizonMillis <= recordedHorizonMillis) {
            return;
        }
        try {
            context.leases().recordArchivedThrough(held, Instant.ofEpochMilli(horizonMillis));
            recordedHorizonMillis = horizonMillis;
        } catch (SQLException | RuntimeException e) {
            LOG.debugf("source %s: cannot record the archive's horizon: %s", sourceId, e.getMessage());
        }
    }

    /**
     * Records how far the archive reaches, so that a restore to the latest point can tell an archive shortened in the
     * bucket from one that never held more.
     */
    private void recordHead(LeaseStore.Lease held, LeaseStore.ArchiveHead head) {
        if (head.equals(recordedHead)) {
            return;
        }
        try {
            context.leases().recordArchiveHead(held, head);
            recordedHead = head;
        } catch (SQLException | RuntimeException e) {
            LOG.debugf("source %s: cannot record how far the archive reaches: %s", sourceId, e.getMessage());
        }
    }

    private boolean active() {
        return !stopped && lease.get() != null && lease.get().valid();
    }

    private void streamOnce() throws Exception {
        SourceConnection source = context.connect(sourceId);
        lastSource = source;
        Properties props = source.jdbcProperties(context.connectTimeoutSeconds(), 0);
        props.setProperty("ApplicationName", "lifeboat-wal-archiver");
        try (Connection sql = DriverManager.getConnection(source.jdbcUrl(), props)) {
            int segmentSize = supportedSegmentSize(SourceConnection.walSegmentSize(sql), source, sql);
            Repository repository = context.repository(sourceId);
            WalArchive archive = repository.wal(segmentSize);
            if (gapCheck == null) {
                gapCheck = new WalGapCheck(repository, archive, context.config().baseBackupsInterval());
            }

            Properties rprops = source.jdbcProperties(context.connectTimeoutSeconds(), 0);
            rprops.setProperty("ApplicationName", "lifeboat-wal-archiver");
            PGProperty.REPLICATION.set(rprops, "true");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(rprops, "10");
            PGProperty.PREFER_QUERY_MODE.set(rprops, "simple");
            Connection repl = DriverManager.getConnection(source.jdbcUrl(), rprops);
            replication = repl;
            if (stopped) {
                closeQuietly(repl);
                return;
            }
            try (repl) {
                String systemIdentifier = identifySystem(repl);
                // before the slot: a server the archive refuses must not be made to retain WAL for it
                claim(archive, systemIdentifier, source);
                this.systemIdentifier = systemIdentifier;
                long restart = ensureSlot(sql, archive);
                long switchPoint = archiveHistories(repl, archive);
                long segment = startSegment(restart, archive, segmentSize, switchPoint);
                long start = segment * segmentSize;
                LeaseStore.Lease held = lease.get();
                if (held == null || !held.valid()) {
                    return;
                }
                context.leases().recordArchiveFrom(held, WalNames.segmentName(timeline, segment, segmentSize));
                PGReplicationStream s = repl.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                        .physical()
                        .withSlotName(slot)
                        .withStartPosition(LogSequenceNumber.valueOf(start))
                        .withAutomaticFlush(false)
                        // a status message every partial interval: a server that died is noticed by the next
                        // write (reads of a dead connection only come back empty)
                        .withStatusInterval((int) Math.max(100, context.config().partialInterval().toMillis()),
                                TimeUnit.MILLISECONDS)
                        .start();
                stream = s;
                streaming = true;
                error = null;
                LOG.infof("archiving WAL of source %s from %s (segment %s, slot %s, timeline %d) into %s",
                        sourceId, WalNames.formatLsn(start), WalNames.segmentName(timeline, segment, segmentSize),
                        slot, timeline, archive.location());
                receive(s, sql, archive, segmentSize, segment);
            }
        }
    }

    /** The archive refuses the source's server: streaming it would mix the WAL of two clusters in one archive. */
    static final class ArchiveRefused extends IllegalStateException {
        ArchiveRefused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Binds the archive to the server's cluster, or refuses with what the operator can do: the archive holds WAL of
     * another cluster (the data directory was re-initialised, or the source now points at another server), and
     * writing this server's WAL next to it would corrupt every recovery through it.
     */
    private void claim(WalArchive archive, String systemIdentifier, SourceConnection source) {
        try {
            archive.claim(systemIdentifier);
            if (refused != null) {
                LOG.infof("source %s: the archive %s accepts the server (cluster %s) again", sourceId,
                        archive.location(), systemIdentifier);
            }
            refused = null;
        } catch (ForeignClusterException e) {
            String why = "refusing to archive WAL of source " + sourceId + ": the server at " + source.host() + ":"
                    + source.port() + " is the PostgreSQL cluster with system identifier " + systemIdentifier
                    + ", but the WAL archive " + archive.location() + " belongs to the cluster with system identifier "
                    + e.expected() + " (the data directory was re-initialised, or the source now names another server); nothing "
                    + "was written and no replication slot was created, so the archive is not mixed. Either "
                    + "register this server under a new source id, or start a new archive for source " + sourceId
                    + ": POST /api/v1/sources/" + sourceId + "/wal-archive/retire?systemIdentifier=" + e.expected()
                    + " on snapshot-worker (role lifeboat-admin) moves the old archive aside, under wal-retired/ of "
                    + "the same repository, where restores of the old cluster's base backups still find it";
            throw refuse(why, e);
        }
    }

    /** The refusal, said once (the archiver asks again at every attempt) and shown in the status until it ends. */
    private ArchiveRefused refuse(String why, Throwable cause) {
        if (!why.equals(refused)) {
            LOG.warn(why);
        }
        refused = why;
        return new ArchiveRefused(why, cause);
    }

    /** Reads the stream into the segment buffer until stopped or the lease is lost; uploads as it goes. */
    private void receive(PGReplicationStream s, Connection sql, WalArchive archive, int segmentSize, long firstSegment)
            throws SQLException {
        byte[] buffer = new byte[segmentSize];
        long segment = firstSegment;
        int filled = 0;
        // streaming starts again at the beginning of a segment whose partial an earlier owner (or this one before a
        // reconnect) may have stored further: none is stored again until it is longer, so the archive never shrinks
        String receiving = WalNames.segmentName(timeline, segment, segmentSize);
        WalArchive.PartialWriter partial = archive.partialWriter(receiving);
        partial.replacing().ifPresent(why -> LOG.warnf("source %s: the archived partial of segment %s does not open "
                + "(%s); it is stored anew from the WAL streamed now", sourceId, receiving, why));
        long partialEvery = context.config().partialInterval().toNanos();
        long statusEvery = context.config().statusInterval().toNanos();
        long nextPartial = System.nanoTime() + partialEvery;
        long nextStatus = System.nanoTime();
        try {
            while (active()) {
                ByteBuffer data = s.readPending();
                if (data != null) {
                    long end = s.getLastReceiveLSN().asLong();
                    long dataStart = end - data.remaining();
                    long expected = segment * segmentSize + filled;
                    if (dataStart != expected) {
                        throw new IllegalStateException("the server sent WAL from " + WalNames.formatLsn(dataStart)
                                + " where " + WalNames.formatLsn(expected) + " was expected");
                    }
                    while (data.hasRemaining()) {
                        int take = Math.min(segmentSize - filled, data.remaining());
                        data.get(buffer, filled, take);
                        filled += take;
                        if (filled == segmentSize) {
                            requireLease();
                            partial.complete(buffer);
                            archived(s, (segment + 1) * segmentSize);
                            segment++;
                            filled = 0;
                            partial = archive.partialWriterOfNext(WalNames.segmentName(timeline, segment,
                                    segmentSize));
                        }
                    }
                }
                long now = System.nanoTime();
                if (now - nextPartial >= 0) {
                    nextPartial = now + partialEvery;
                    if (filled > partial.stored()) {
                        requireLease();
                        partial.write(buffer, filled);
                        archived(s, segment * segmentSize + filled);
                    }
                    sampleServer(sql);
                }
                if (now - nextStatus >= 0) {
                    nextStatus = now + statusEvery;
                    publishStatus(archive);
                }
                if (data == null) {
                    sleepBriefly();
                }
            }
        } catch (SQLException | RuntimeException e) {
            keepReceived(partial, segment, segmentSize, buffer, filled);
            throw e;
        }
    }

    /**
     * When streaming breaks (the server died, the connection dropped), uploads the WAL received since the last
     * partial: the server sent only WAL it had flushed, so it is the cluster's and belongs in the archive, and the
     * server may not come back to send it again. Best effort: the original failure is what the caller reports.
     */
    private void keepReceived(WalArchive.PartialWriter partial, long segment, int segmentSize, byte[] buffer,
                              int filled) {
        LeaseStore.Lease held = lease.get();
        int uploaded = partial.stored();
        if (filled <= uploaded || filled >= segmentSize || !active() || held == null
                || held.validUntilNanos() - System.nanoTime() < context.config().leaseRenewInterval().toNanos()) {
            return;   // nothing new, or too near the lease's end for an upload to finish before another owner's
        }
        try {
            partial.write(buffer, filled);
            markArchived(segment * segmentSize + filled);
            LOG.infof("source %s: streaming broke; the %d bytes of WAL received since the last upload are archived "
                    + "(through %s)", sourceId, filled - uploaded, WalNames.formatLsn(archivedLsn));
        } catch (RuntimeException e) {
            LOG.warnf("source %s: streaming broke, and the %d bytes of WAL received since the last upload could not "
                    + "be archived: %s", sourceId, filled - uploaded, describe(e));
        }
    }

    private void markArchived(long lsn) {
        resumeFromArchive = false;
        archivedLsn = lsn;
        archivedAt = Instant.now();
    }

    private void requireLease() {
        if (!active()) {
            throw new IllegalStateException("the lease of source " + sourceId + " is no longer held by this worker");
        }
    }

    /** The archive holds the WAL up to {@code lsn}: reported as flushed to the server, so its slot may move on. */
    private void archived(PGReplicationStream s, long lsn) throws SQLException {
        markArchived(lsn);
        LogSequenceNumber position = LogSequenceNumber.valueOf(lsn);
        s.setFlushedLSN(position);
        s.setAppliedLSN(position);
        s.forceUpdateStatus();
    }

    /**
     * Records where the server's WAL is flushed to. The time is taken before asking: every transaction acknowledged
     * before that time lies at or below the answer, whenever the server computed it.
     */
    private void sampleServer(Connection sql) {
        long askedAt = System.currentTimeMillis();
        try (Statement st = sql.createStatement();
             ResultSet rs = st.executeQuery("select pg_catalog.pg_current_wal_flush_lsn()::text")) {
            rs.next();
            long lsn = WalNames.parseLsn(rs.getString(1));
            serverLsn = lsn;
            synchronized (samples) {
                if (!samples.isEmpty() && samples.peekLast()[0] == lsn) {
                    samples.peekLast()[1] = askedAt;   // still there: known at that position until now
                } else {
                    samples.addLast(new long[]{lsn, askedAt});
                }
                while (samples.size() > MAX_SAMPLES) {
                    samples.removeFirst();
                }
            }
        } catch (SQLException | RuntimeException e) {
            LOG.debugf("source %s: cannot read the server's WAL position: %s", sourceId, e.getMessage());
        }
    }

    /**
     * Seconds since the server was last known to be at a position the archive holds: the age of the newest sample
     * that is archived. Every transaction acknowledged before that sample was taken is in the archive; one
     * acknowledged after it may be missing, even when the newest sample is archived (the server may have written
     * since), so the lag is never 0 but about the partial interval on an idle server. Before this streamer has
     * archived one of its own samples (it cannot stream: source down, archive refused; or it is catching up), the
     * time since the previous owner's horizon ({@link LeaseStore#archivedThrough}), else since this streamer
     * started: nothing after that is known to be archived. Never unknown, so the gauge and the RPO grow while nothing
     * is archived instead of reading NaN.
     */
    Double lagSeconds(long nowMillis) {
        long archived = archivedLsn;
        synchronized (samples) {
            long inherited = inheritedHorizonMillis;
            long since = inherited >= 0 ? Math.min(startedAtMillis, inherited) : startedAtMillis;
            long[] newestArchived = null;
            for (long[] sample : samples) {
                if (archived >= 0 && Long.compareUnsigned(sample[0], archived) <= 0) {
                    newestArchived = sample;
                }
            }
            if (newestArchived != null) {
                since = newestArchived[1];
                // keep the one archived sample that still matters
                while (samples.peekFirst() != newestArchived) {
                    samples.removeFirst();
                }
            }
            return Math.max(0, nowMillis - since) / 1000.0;
        }
    }

    private void publishStatus() {
        publishStatus(null);
    }

    private void publishStatus(WalArchive archive) {
        LeaseStore.Lease held = lease.get();
        if (held == null) {
            return;
        }
        try {
            WalArchive.Continuity continuity = null;
            String from = null;
            if (archive != null && gapCheck != null) {
                continuity = gapCheck.check().orElse(null);
                from = continuity == null ? null : continuity.from();
                clearWarningWhenContiguous(continuity, archive.segmentSize());
            } else if (lastStatus != null) {
                from = lastStatus.continuityFrom();
            }
            long archived = archivedLsn;
            long server = serverLsn;
            Instant now = Instant.now();   // the lag is as of the report's time
            Double lag = lagSeconds(now.toEpochMilli());
            Long lagBytes = archived < 0 || server < 0 ? null : Math.max(0, server - archived);
            WalStatus last = lastStatus;
            WalStatus status = new WalStatus(sourceId, context.workerId(), held.token(), timeline,
                    archived < 0 ? null : WalNames.formatLsn(archived), archivedAt,
                    server < 0 ? null : WalNames.formatLsn(server), lagBytes, lag,
                    from,
                    continuity != null ? continuity.lastContiguous().orElse(null)
                            : last == null ? null : last.lastContiguousSegment(),
                    continuity != null ? !continuity.unbroken() : last != null && last.gap(),
                    continuity != null ? continuity.firstMissing().orElse(null)
                            : last == null ? null : last.firstMissingSegment(),
                    streaming ? WalStatus.STREAMING : refused != null ? WalStatus.REFUSED : WalStatus.RECONNECTING,
                    streaming ? null : error,
                    now, warning);
            lastStatus = status;
            statusSink.accept(status);
            recordHorizon(held, now.toEpochMilli() - Math.round(lag * 1000));
            if (archive != null && archived >= 0 && systemIdentifier != null) {
                recordHead(held, new LeaseStore.ArchiveHead(archive.location(), systemIdentifier, timeline, archived));
            }
        } catch (Exception e) {
            LOG.warnf("source %s: cannot report WAL archiving status: %s", sourceId, describe(e));
        }
    }

    WalStatus lastStatus() {
        return lastStatus;
    }

    /**
     * The slot's position; the slot is created (reserving WAL from now on) when the server has none: a new source,
     * or a standby promoted after a failover (slots are not copied to standbys), or a slot someone dropped. When the
     * archive already holds WAL, streaming then resumes at the archive's position instead ({@link #startSegment}).
     */
    private long ensureSlot(Connection sql, WalArchive archive) throws SQLException {
        Optional<Long> position = slotPosition(sql);
        if (position.isEmpty()) {
            try (PreparedStatement ps = sql.prepareStatement(
                    "select pg_catalog.pg_create_physical_replication_slot(?, true)")) {
                ps.setString(1, slot);
                ps.execute();
                LOG.infof("created physical replication slot %s on source %s", slot, sourceId);
                WalArchive.Listing held = archive.list();
                resumeFromArchive = !held.segments().isEmpty() || !held.partials().isEmpty();
            } catch (SQLException e) {
                if (!DUPLICATE_OBJECT.equals(e.getSQLState())) {
                    throw new SQLException("cannot create replication slot " + slot + " (the source's user needs the "
                            + "REPLICATION attribute and max_replication_slots room): " + e.getMessage(),
                            e.getSQLState(), e);
                }
            }
            position = slotPosition(sql);
        }
        return position.orElseThrow(() -> new IllegalStateException("replication slot " + slot
                + " has no WAL position reserved"));
    }

    private Optional<Long> slotPosition(Connection sql) throws SQLException {
        try (PreparedStatement ps = sql.prepareStatement("""
                select coalesce(restart_lsn, pg_catalog.pg_current_wal_flush_lsn())::text, slot_type
                  from pg_replication_slots where slot_name = ?""")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                if (!"physical".equals(rs.getString(2))) {
                    throw new IllegalStateException("replication slot " + slot + " exists and is " + rs.getString(2)
                            + ", not physical; drop it or set lifeboat.archiver.slot-prefix");
                }
                return Optional.of(WalNames.parseLsn(rs.getString(1)));
            }
        }
    }

    /**
     * The server's segment size, or a refusal before anything is written or a slot created (a size the restores do
     * not read, or one that would make the segment buffer a gigabyte).
     */
    private int supportedSegmentSize(long bytes, SourceConnection source, Connection sql) throws SQLException {
        Optional<String> problem = WalNames.unsupportedSegmentSize(bytes);
        if (problem.isEmpty()) {
            return (int) bytes;
        }
        boolean slotLeft;
        try (PreparedStatement ps = sql.prepareStatement("select 1 from pg_catalog.pg_replication_slots where "
                + "slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                slotLeft = rs.next();
            }
        }
        String why = "refusing to archive WAL of source " + sourceId + ": the server at " + source.host() + ":"
                + source.port() + " is a cluster whose " + problem.get().substring("its ".length()) + "; nothing "
                + "was written and no replication slot was created" + (slotLeft ? " (but replication slot " + slot
                + ", made before, still keeps the server's WAL: drop it on the server with select "
                + "pg_drop_replication_slot('" + slot + "'))" : "") + ". Back it up with the logical method, or "
                + "move the database to a cluster initialised with the default segment size";
        throw refuse(why, null);
    }


    /** IDENTIFY_SYSTEM: sets the server's timeline and returns its cluster's system identifier. */
    private String identifySystem(Connection repl) throws SQLException {
        try (Statement st = repl.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            int current = rs.getInt("timeline");
            if (timeline != 0 && current != timeline) {
                // positions of another timeline say nothing about what of this one is archived
                archivedLsn = -1;
                synchronized (samples) {
                    samples.clear();
                }
            }
            timeline = current;
            return Long.toUnsignedString(Long.parseUnsignedLong(rs.getString("systemid").trim()));
        }
    }

    /**
     * Archives the timeline history files of every timeline up to the current one that the archive lacks, and
     * returns where the current timeline branched off its parent (0 on timeline 1): from the current timeline's
     * history file, whose last line names the parent and the switch point.
     */
    private long archiveHistories(Connection repl, WalArchive archive) throws SQLException {
        if (timeline <= 1) {
            return 0;
        }
        var held = archive.list().histories();
        byte[] current = null;
        for (int tli = 2; tli <= timeline; tli++) {
            String name = String.format(Locale.ROOT, "%08X.history", tli);
            if (held.contains(name)) {
                if (tli == timeline) {
                    current = archive.fetch(name).orElse(null);
                }
                continue;
            }
            try (Statement st = repl.createStatement(); ResultSet rs = st.executeQuery("TIMELINE_HISTORY " + tli)) {
                if (rs.next()) {
                    byte[] content = rs.getBytes(2);
                    content = content == null ? rs.getString(2).getBytes(StandardCharsets.UTF_8) : content;
                    archive.put(name, content);
                    LOG.infof("archived timeline history %s of source %s", name, sourceId);
                    if (tli == timeline) {
                        current = content;
                    }
                }
            }
        }
        return current == null ? 0 : switchPoint(new String(current, StandardCharsets.UTF_8));
    }

    /** The switch point on the last line of a timeline history file ({@code parentTLI<tab>LSN<tab>reason}). */
    static long switchPoint(String history) {
        long point = 0;
        for (String line : history.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length >= 2 && !fields[0].startsWith("#") && fields[1].contains("/")) {
                point = WalNames.parseLsn(fields[1]);
            }
        }
        return point;
    }

    /**
     * The segment streaming starts at: the one holding the slot's position; the archive's next segment after the
     * slot was re-created (what the server still holds of the WAL between them is not lost that way). Never before
     * the segment where the current timeline began: a server serves its current timeline only from there on (older
     * segments are files of the parent timeline), so WAL of the parent before it is in the archive only if the
     * former primary's archiver stored it; the continuity check tells.
     */
    private long startSegment(long slotRestart, WalArchive archive, int segmentSize, long switchPoint) {
        long segment = Long.divideUnsigned(slotRestart, segmentSize);
        String why = null;
        if (resumeFromArchive) {
            Optional<Long> next = nextToArchive(archive.list(), segmentSize);
            if (next.isPresent()) {
                why = "replication slot " + slot + " was missing on the server of source " + sourceId
                        + " (a promoted standby, or dropped) and was created again at "
                        + WalNames.formatLsn(slotRestart) + "; the archive resumes at segment "
                        + WalNames.segmentName(timeline, next.get(), segmentSize)
                        + ": WAL written while no slot held it may be missing, see the continuity check";
                segment = next.get();
            }
        }
        long firstOfTimeline = Long.divideUnsigned(switchPoint, segmentSize);
        if (switchPoint != 0 && segment < firstOfTimeline) {
            why = "source " + sourceId + " switched to timeline " + timeline + " at " + WalNames.formatLsn(switchPoint)
                    + "; the archive's position (segment " + WalNames.segmentName(timeline - 1, segment, segmentSize)
                    + ") is older and the server serves timeline " + timeline + " only from segment "
                    + WalNames.segmentName(timeline, firstOfTimeline, segmentSize)
                    + ": the WAL of the former timeline between them is in the archive only if it was archived "
                    + "before the switch, see the continuity check";
            segment = firstOfTimeline;
        }
        if (why != null) {
            warning = why;
            warnedSegment = segment;
            LOG.warn(why);
        }
        return segment;
    }

    /** The first segment the archive lacks after its newest one: a partial's segment, else after the newest. */
    private static Optional<Long> nextToArchive(WalArchive.Listing listing, int segmentSize) {
        long next = -1;
        for (String s : listing.segments()) {
            next = Math.max(next, WalNames.segmentNumber(s, segmentSize) + 1);
        }
        for (String p : listing.partials()) {
            next = Math.max(next, WalNames.segmentNumber(p, segmentSize));
        }
        return next < 0 ? Optional.empty() : Optional.of(next);
    }

    /** A warning about WAL at risk holds until the archive is contiguous past the segment it resumed at. */
    private void clearWarningWhenContiguous(WalArchive.Continuity continuity, int segmentSize) {
        long at = warnedSegment;
        if (warning == null || at < 0 || continuity == null || !continuity.unbroken()
                || continuity.lastContiguous().isEmpty()) {
            return;
        }
        if (WalNames.segmentNumber(continuity.lastContiguous().get(), segmentSize) >= at) {
            LOG.infof("source %s: the archive is contiguous from %s past segment %s again", sourceId,
                    continuity.from(), WalNames.segmentName(timeline, at, segmentSize));
            warning = null;
            warnedSegment = -1;
        }
    }

    /**
     * Drops the source's replication slot on its server (the source was deleted, so nothing must retain its WAL),
     * over the connection details last used; call after {@link #stop()}. Waits up to {@code timeout} for the server
     * to let the slot go (it stays active for a moment after the stream closed). False when it could not.
     */
    boolean dropSlot(Duration timeout) {
        SourceConnection source = lastSource;
        if (source == null) {
            return false;
        }
        long until = System.nanoTime() + timeout.toNanos();
        String last = null;
        do {
            Properties props = source.jdbcProperties(context.connectTimeoutSeconds(), 0);
            props.setProperty("ApplicationName", "lifeboat-wal-archiver");
            try (Connection sql = DriverManager.getConnection(source.jdbcUrl(), props);
                 PreparedStatement ps = sql.prepareStatement("""
                         select pg_catalog.pg_drop_replication_slot(slot_name) from pg_replication_slots
                          where slot_name = ? and slot_type = 'physical'""")) {
                ps.setString(1, slot);
                ps.execute();
                return true;
            } catch (SQLException e) {
                last = e.getMessage();
            }
        } while (System.nanoTime() - until < 0 && pause(200));
        LOG.warnf("could not drop replication slot %s of deleted source %s on %s:%d within %s: %s; drop it by hand "
                + "(select pg_drop_replication_slot('%s')), it retains WAL on that server", slot, sourceId,
                source.host(), source.port(), timeout, last, slot);
        return false;
    }

    private static boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private boolean sleep(Duration d) {
        try {
            long until = System.nanoTime() + d.toNanos();
            while (active() && System.nanoTime() - until < 0) {
                Thread.sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
            return active();
        } catch (InterruptedException e) {
            return false;
        }
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String describe(Throwable e) {
        StringBuilder s = new StringBuilder(e.getClass().getSimpleName());
        if (e.getMessage() != null) {
            s.append(": ").append(e.getMessage());
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != e && root.getMessage() != null && !String.valueOf(e.getMessage()).contains(root.getMessage())) {
            s.append(" (").append(root.getClass().getSimpleName()).append(": ").append(root.getMessage()).append(')');
        }
        return s.length() > 1000 ? s.substring(0, 1000) : s.toString();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.debugf("closing: %s", e.getMessage());
        }
    }
}
