package dev.lifeboat.snapshot.archiver;

import dev.lifeboat.contracts.WalStatus;
import org.jboss.logging.Logger;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One archiver instance: lists the physical sources, takes the lease of each source no live instance holds, streams
 * the sources it holds (a {@link WalStreamer} each) and renews their leases; a source whose lease it loses, or cannot
 * renew before it runs out, stops streaming at once. Several instances (workers) share the sources this way, each
 * source streamed by exactly one.
 */
final class ArchiverNode implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ArchiverNode.class);

    /** Starts the streaming of a source under a lease; the status sink receives its reports. */
    interface StreamerFactory {
        WalStreamer create(String sourceId, Supplier<LeaseStore.Lease> lease, Consumer<WalStatus> status);
    }

    /**
     * Whether scheduler-service says a source no longer exists (404): true when deleted, false when it still
     * exists; throws when it cannot tell (an outage is not a deletion).
     */
    interface DeletionProbe {
        boolean deleted(String sourceId) throws Exception;
    }

    private record Held(AtomicReference<LeaseStore.Lease> lease, WalStreamer streamer) {
    }

    private final String owner;
    private final ArchiverConfig config;
    private final LeaseStore leases;
    private final Supplier<List<String>> physicalSources;
    private final StreamerFactory streamers;
    private final Consumer<WalStatus> status;
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    private final Consumer<String> released;
    private final DeletionProbe deletions;
    private final java.util.function.BiConsumer<String, String> slotDropped;
    private ScheduledExecutorService timer;

    /**
     * @param physicalSources the ids of the physical sources, as scheduler-service lists them now
     * @param released        told the id of each source this instance stops streaming
     * @param deletions       asked about a source held here that the listing no longer has
     * @param slotDropped     told the source id and slot name of each slot dropped for a deleted source
     */
    ArchiverNode(String owner, ArchiverConfig config, LeaseStore leases, Supplier<List<String>> physicalSources,
                 StreamerFactory streamers, Consumer<WalStatus> status, Consumer<String> released,
                 DeletionProbe deletions, java.util.function.BiConsumer<String, String> slotDropped) {
        this.deletions = deletions;
        this.slotDropped = slotDropped;
        this.owner = owner;
        this.config = config;
        this.leases = leases;
        this.physicalSources = physicalSources;
        this.streamers = streamers;
        this.status = status;
        this.released = released;
    }

    String owner() {
        return owner;
    }

    synchronized void start() {
        timer = Executors.newScheduledThreadPool(1, Thread.ofPlatform().name("wal-archiver-leases-", 0)
                .daemon(true).factory());
        timer.scheduleWithFixedDelay(this::claimSources, 0, config.sourcesInterval().toMillis(),
                TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(this::renewLeases, config.leaseRenewInterval().toMillis(),
                config.leaseRenewInterval().toMillis(), TimeUnit.MILLISECONDS);
        LOG.infof("WAL archiver %s started: sources every %s, lease %s renewed every %s", owner,
                config.sourcesInterval(), config.leaseTtl(), config.leaseRenewInterval());
    }

    /** The sources this instance streams now. */
    Set<String> owned() {
        return Set.copyOf(held.keySet());
    }

    /** Takes the free leases of listed physical sources; stops sources that are no longer listed. */
    void claimSources() {
        List<String> sources;
        try {
            sources = CompletableFuture.supplyAsync(physicalSources)
                    .get(config.sourcesTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warnf("WAL archiver: scheduler-service did not list the sources within %s "
                    + "(lifeboat.archiver.sources-timeout); the sources held are kept", config.sourcesTimeout());
            return;
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                    ? e.getCause() : e;
            LOG.warnf("WAL archiver: cannot list the sources from scheduler-service (%s); the sources held are kept",
                    cause.toString());
            return;
        }
        for (String sourceId : held.keySet()) {
            if (!sources.contains(sourceId)) {
                unlisted(sourceId);
            }
        }
        for (String sourceId : sources) {
            if (held.containsKey(sourceId)) {
                continue;
            }
            try {
                leases.acquire(sourceId, owner, config.leaseTtl()).ifPresent(lease -> {
                    AtomicReference<LeaseStore.Lease> ref = new AtomicReference<>(lease);
                    WalStreamer streamer = streamers.create(sourceId, ref::get, status);
                    held.put(sourceId, new Held(ref, streamer));
                    LOG.infof("WAL archiver %s took the lease of source %s (token %d)", owner, sourceId,
                            lease.token());
                    streamer.start();
                });
            } catch (Exception e) {
                LOG.warnf("WAL archiver: cannot take the lease of source %s: %s", sourceId, e.toString());
            }
        }
    }

    /**
     * A source held here that the listing no longer has: deleted (scheduler-service answers 404), its archiving
     * stops and its replication slot is dropped, or it would retain WAL on its server until the disk fills; still
     * there but no longer physical, its archiving stops and the slot stays; unknown (scheduler-service unreachable
     * within the sources timeout), nothing changes until the next listing.
     */
    private void unlisted(String sourceId) {
        boolean deleted;
        try {
            deleted = CompletableFuture.supplyAsync(() -> {
                try {
                    return deletions.deleted(sourceId);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }).get(config.sourcesTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                    ? (e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause()) : e;
            LOG.warnf("WAL archiver: source %s is missing from the listing but scheduler-service could not say "
                    + "whether it was deleted within %s (%s); its archiving goes on", sourceId,
                    config.sourcesTimeout(), cause.toString());
            return;
        }
        if (!deleted) {
            LOG.infof("source %s is no longer a physical source in scheduler-service: its WAL archiving stops",
                    sourceId);
            drop(sourceId, true);
            return;
        }
        Held h = held.get(sourceId);
        LOG.infof("source %s was deleted in scheduler-service: its WAL archiving stops and its replication slot "
                + "%s is dropped", sourceId, h == null ? "?" : h.streamer().slot());
        drop(sourceId, true, true);
    }

    /** Renews every lease held; a lease lost or run out stops its source at once. */
    void renewLeases() {
        for (Map.Entry<String, Held> e : held.entrySet()) {
            AtomicReference<LeaseStore.Lease> ref = e.getValue().lease();
            LeaseStore.Lease lease = ref.get();
            try {
                var renewed = leases.renew(lease, config.leaseTtl());
                if (renewed.isEmpty()) {
                    LOG.warnf("WAL archiver %s lost the lease of source %s (token %d): streaming stopped", owner,
                            e.getKey(), lease.token());
                    drop(e.getKey(), false);
                    continue;
                }
                ref.set(renewed.get());
            } catch (Exception ex) {
                if (!lease.valid()) {
                    LOG.warnf("WAL archiver %s could not renew the lease of source %s before it ran out (%s): "
                            + "streaming stopped", owner, e.getKey(), ex.toString());
                    drop(e.getKey(), false);
                } else {
                    LOG.warnf("WAL archiver %s could not renew the lease of source %s (%s); retried until it runs "
                            + "out", owner, e.getKey(), ex.toString());
                }
            }
            if (!e.getValue().streamer().running() && held.containsKey(e.getKey())) {
                drop(e.getKey(), true);
            }
        }
    }

    private void drop(String sourceId, boolean release) {
        drop(sourceId, release, false);
    }

    private void drop(String sourceId, boolean release, boolean dropSlot) {
        Held h = held.remove(sourceId);
        if (h == null) {
            return;
        }
        h.streamer().stop();
        try {
            h.streamer().awaitStopped(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // still under the lease (renewed first: stopping the stream may have taken most of it), so no other
        // instance streams the source meanwhile
        if (dropSlot && renewedForSlotDrop(sourceId, h) && h.streamer().dropSlot(config.slotDropTimeout())) {
            LOG.infof("dropped replication slot %s of deleted source %s", h.streamer().slot(), sourceId);
            slotDropped.accept(sourceId, h.streamer().slot());
        }
        released.accept(sourceId);
        if (release) {
            try {
                leases.release(h.lease().get());
            } catch (Exception e) {
                LOG.debugf("releasing the lease of %s: %s", sourceId, e.getMessage());
            }
        }
    }

    private boolean renewedForSlotDrop(String sourceId, Held h) {
        try {
            Optional<LeaseStore.Lease> renewed = leases.renew(h.lease().get(), config.leaseTtl());
            renewed.ifPresent(h.lease()::set);
            return renewed.isPresent() && renewed.get().valid();
        } catch (SQLException e) {
            LOG.warnf("WAL archiver %s could not renew the lease of deleted source %s before dropping its replication "
                    + "slot %s (%s): the slot stays and retains WAL on the server; drop it there with "
                    + "pg_drop_replication_slot('%s')", owner, sourceId, h.streamer().slot(), e.getMessage(),
                    h.streamer().slot());
            return false;
        }
    }

    /** Stops every source and gives its lease up, so another instance takes over at once. */
    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
        for (String sourceId : held.keySet()) {
            drop(sourceId, true);
        }
    }
}
