package dev.lifeboat.snapshot.archiver;

import dev.lifeboat.contracts.WalStatus;
import dev.lifeboat.kit.objectstore.ObjectStoreConfig;
import dev.lifeboat.kit.repository.Repositories;
import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.snapshot.client.SchedulerClient;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.messaging.WalStatusPublisher;
import dev.lifeboat.snapshot.service.SourceConnection;
import dev.lifeboat.snapshot.service.Spool;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The WAL archiver role of snapshot-worker (on unless lifeboat.archiver.enabled=false): this worker's
 * {@link ArchiverNode}, fed with the physical sources scheduler-service lists, publishing each owned source's status
 * on lifeboat.wal.status.v1 and as Prometheus gauges.
 */
@ApplicationScoped
public class WalArchiver {
    private static final Logger LOG = Logger.getLogger(WalArchiver.class);

    @Inject
    ArchiverConfig config;
    @Inject
    SnapshotConfig snapshotConfig;
    @Inject
    ObjectStoreConfig storeConfig;
    @Inject
    LeaseStore leases;
    @Inject
    Repositories repositories;
    @Inject
    SecretPolicy secrets;
    @Inject
    Spool spool;
    @Inject
    @RestClient
    SchedulerClient scheduler;
    @Inject
    WalStatusPublisher publisher;
    @Inject
    MeterRegistry registry;

    private final Map<String, WalStatus> latest = new ConcurrentHashMap<>();
    private final Map<String, List<Meter>> gauges = new ConcurrentHashMap<>();
    /** Sources whose enabled policies disagree on their destination: the status carries the warning. */
    private final Map<String, String> destinationWarnings = new ConcurrentHashMap<>();
    private ArchiverNode node;

    void onStart(@Observes StartupEvent event) {
        if (!config.enabled()) {
            LOG.info("WAL archiver off (lifeboat.archiver.enabled=false)");
            return;
        }
        String workerId = snapshotConfig.workerId().filter(s -> !s.isBlank())
                .orElseGet(() -> "snapshot-worker-" + ProcessHandle.current().pid());
        node = node(workerId + "-" + UUID.randomUUID().toString().substring(0, 8), this::physicalSources);
        node.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        if (node != null) {
            node.close();
        }
    }

    /**
     * An archiver instance of this worker's configuration, owner {@code owner}, that archives the sources
     * {@code sources} names. The role runs one; more instances share the same leases as separate workers would.
     */
    ArchiverNode node(String owner, Supplier<List<String>> sources) {
        return node(owner, sources, leases);
    }

    ArchiverNode node(String owner, Supplier<List<String>> sources, LeaseStore leaseStore) {
        WalStreamer.Context context = new WalStreamer.Context() {
            @Override
            public ArchiverConfig config() {
                return config;
            }

            @Override
            public SourceConnection connect(String sourceId) {
                return SourceConnection.resolve(scheduler.source(sourceId), secrets,
                        spool.job("archiver-" + sourceId));
            }

            @Override
            public Repository repository(String sourceId) {
                Destination d = destination(sourceId);
                if (d.warning() == null) {
                    destinationWarnings.remove(sourceId);
                } else {
                    destinationWarnings.put(sourceId, d.warning());
                }
                return repositories.openOrInit(d.bucket(), d.repositoryPrefix());
            }

            @Override
            public LeaseStore leases() {
                return leaseStore;
            }

            @Override
            public int connectTimeoutSeconds() {
                return snapshotConfig.connectTimeoutSeconds();
            }

            @Override
            public String workerId() {
                return owner;
            }
        };
        return new ArchiverNode(owner, config, leaseStore, sources,
                (sourceId, lease, sink) -> new WalStreamer(context, sourceId, lease, sink), this::report,
                this::forget, this::deleted, this::slotDropped);
    }

    /**
     * Starts a new archive for the source: moves its current archive (in the source's destination, as the archiver
     * computes it) aside to {@code wal-retired/} of the same repository. {@code systemIdentifier} must name the cluster
     * the archive belongs to, which the refusal's message quotes, so that an archive is never moved by mistake; the
     * archiver that owns the source binds the emptied archive to its server's cluster at its next attempt.
     *
     * @throws dev.lifeboat.repository.wal.ForeignClusterException when the archive belongs to another cluster
     * @throws java.util.NoSuchElementException                    when there is no archive to retire
     */
    public dev.lifeboat.repository.wal.WalArchive.Retired retire(String sourceId, String systemIdentifier) {
        Destination d = destination(sourceId);
        Repository repository = repositories.open(d.bucket(), d.repositoryPrefix()).orElseThrow(() ->
                new java.util.NoSuchElementException("source " + sourceId + " has no repository at s3://"
                        + d.bucket() + "/" + d.repositoryPrefix()));
        try {
            var retired = repository.wal().retire(systemIdentifier, java.time.Instant.now());
            LOG.warnf("the WAL archive of source %s (cluster %s) was moved aside to %s (%d objects); the next archiver "
                    + "attempt starts a new archive", sourceId, retired.systemIdentifier(), retired.location(),
                    retired.objects());
            registry.counter("lifeboat_wal_archives_retired_total", "source", sourceId).increment();
            return retired;
        } catch (IllegalStateException e) {
            throw new java.util.NoSuchElementException(e.getMessage());
        }
    }

    /** The latest status of each source this worker streams. */
    public Map<String, WalStatus> statuses() {
        return Map.copyOf(latest);
    }

    /** Where a source's WAL is archived: a repository, and why it was chosen when that needs a person's eye. */
    record Destination(String bucket, String repositoryPrefix, String warning) {
        Destination(String bucket, String repositoryPrefix) {
            this(bucket, repositoryPrefix, null);
        }
    }

    /**
     * The repository the source's base backups go to, which is where restores and the WAL garbage collection look
     * for its WAL: the destination of its enabled policies, computed as a backup computes it (the store's default
     * bucket and lifeboat.snapshot.default-prefix for what a policy leaves out). Enabled policies that name different
     * destinations get the first by policy id, with a warning. A source without an enabled policy keeps
     * lifeboat.archiver.bucket/prefix. Read when streaming (re)starts; scheduler-service down fails the start, which
     * is retried like any other.
     */
    Destination destination(String sourceId) {
        List<SchedulerClient.PolicySummary> enabled = scheduler.policies(sourceId).stream()
                .filter(p -> p != null && p.id() != null && sourceId.equals(p.sourceId()) && p.active())
                .sorted(java.util.Comparator.comparing(SchedulerClient.PolicySummary::id)).toList();
        if (enabled.isEmpty()) {
            return new Destination(bucket(), repositoryPrefix(sourceId));
        }
        Map<Destination, List<String>> byDestination = new java.util.LinkedHashMap<>();
        for (SchedulerClient.PolicySummary p : enabled) {
            byDestination.computeIfAbsent(of(p, sourceId), d -> new ArrayList<>()).add(p.id());
        }
        Destination first = byDestination.keySet().iterator().next();
        if (byDestination.size() == 1) {
            return first;
        }
        StringBuilder names = new StringBuilder();
        byDestination.forEach((d, ids) -> names.append(names.isEmpty() ? "" : ", ").append("s3://")
                .append(d.bucket()).append('/').append(d.repositoryPrefix()).append(" (policy ")
                .append(String.join(", policy ", ids)).append(')'));
        String warning = "the enabled policies of source " + sourceId + " name different destinations (" + names
                + "); its WAL is archived only into s3://" + first.bucket() + "/" + first.repositoryPrefix()
                + " (policy " + enabled.getFirst().id() + ", the first by id), so backups in the others cannot be "
                + "restored to a point in time: give the policies one destination";
        LOG.warn(warning);
        return new Destination(first.bucket(), first.repositoryPrefix(), warning);
    }

    private Destination of(SchedulerClient.PolicySummary policy, String sourceId) {
        SchedulerClient.PolicyInfo.Destination d = policy.destination();
        String bucket = d != null && d.bucket() != null ? d.bucket() : storeConfig.defaultBucket();
        String prefix = d != null && d.prefix() != null ? d.prefix() : snapshotConfig.defaultPrefix();
        return new Destination(bucket, dev.lifeboat.snapshot.service.SnapshotService.repositoryPrefix(prefix,
                sourceId));
    }

    String bucket() {
        return config.bucket().filter(b -> !b.isBlank()).orElse(storeConfig.defaultBucket());
    }

    /** The source's repository, where its base backups and its WAL live: {@code <prefix>/<sourceId>}. */
    String repositoryPrefix(String sourceId) {
        String prefix = config.prefix().filter(p -> !p.isBlank()).orElse(snapshotConfig.defaultPrefix())
                .replaceAll("^/+|/+$", "");
        return prefix.isEmpty() ? sourceId : prefix + "/" + sourceId;
    }

    /** The ids of the physical PostgreSQL sources scheduler-service lists. */
    List<String> physicalSources() {
        List<String> ids = new ArrayList<>();
        for (SchedulerClient.SourceSummary s : scheduler.sources()) {
            if ("physical".equals(s.method()) && (s.kind() == null || "postgresql".equals(s.kind()))) {
                ids.add(s.id());
            }
        }
        return ids;
    }

    /** Whether scheduler-service answers 404 for the source; anything but a 404 or a 2xx is thrown. */
    boolean deleted(String sourceId) {
        try {
            scheduler.source(sourceId);
            return false;
        } catch (jakarta.ws.rs.WebApplicationException e) {
            if (e.getResponse() != null && e.getResponse().getStatus() == 404) {
                return true;
            }
            throw e;
        }
    }

    private void slotDropped(String sourceId, String slot) {
        LOG.infof("WAL archiver: replication slot %s of deleted source %s dropped", slot, sourceId);
        registry.counter("lifeboat_wal_slots_dropped_total", "source", sourceId, "slot", slot).increment();
    }

    private void report(WalStatus reported) {
        String destinationWarning = destinationWarnings.get(reported.sourceId());
        WalStatus status = destinationWarning == null ? reported : new WalStatus(reported.sourceId(),
                reported.workerId(), reported.leaseToken(), reported.timeline(), reported.archivedLsn(),
                reported.archivedAt(), reported.serverLsn(), reported.lagBytes(), reported.lagSeconds(),
                reported.continuityFrom(), reported.lastContiguousSegment(), reported.gap(),
                reported.firstMissingSegment(), reported.state(), reported.error(), reported.reportedAt(),
                reported.warning() == null ? destinationWarning : reported.warning() + "; " + destinationWarning);
        latest.put(status.sourceId(), status);
        gauges.computeIfAbsent(status.sourceId(), this::register);
        publisher.publish(status);
    }

    private void forget(String sourceId) {
        latest.remove(sourceId);
        destinationWarnings.remove(sourceId);
        List<Meter> meters = gauges.remove(sourceId);
        if (meters != null) {
            meters.forEach(registry::remove);
        }
    }

    /** The reported lag grown by the report's age: what the lag is when the gauge is read. */
    private static Double lagNow(WalStatus s) {
        if (s.lagSeconds() == null) {
            return null;
        }
        long age = s.reportedAt() == null ? 0
                : Math.max(0, System.currentTimeMillis() - s.reportedAt().toEpochMilli());
        return s.lagSeconds() + age / 1000.0;
    }

    private List<Meter> register(String sourceId) {
        return List.of(
                Gauge.builder("lifeboat_wal_archive_lag_seconds", latest,
                                m -> value(m.get(sourceId), WalArchiver::lagNow))
                        .description("Seconds since the source's server was last known at a WAL position the archive "
                                + "holds (the RPO now)").tag("source", sourceId).register(registry),
                Gauge.builder("lifeboat_wal_archive_lag_bytes", latest,
                                m -> value(m.get(sourceId), s -> s.lagBytes() == null ? null
                                        : s.lagBytes().doubleValue()))
                        .description("WAL bytes the server has flushed that the archive does not hold yet")
                        .tag("source", sourceId).register(registry),
                Gauge.builder("lifeboat_wal_last_archived_timestamp_seconds", latest,
                                m -> value(m.get(sourceId), s -> s.archivedAt() == null ? null
                                        : s.archivedAt().toEpochMilli() / 1000.0))
                        .description("When WAL of the source was last stored in the archive (Unix time)")
                        .tag("source", sourceId).register(registry),
                Gauge.builder("lifeboat_wal_archive_gap", latest,
                                m -> value(m.get(sourceId), s -> s.gap() ? 1.0 : 0.0))
                        .description("1 when a WAL segment is missing from the source's archive")
                        .tag("source", sourceId).register(registry),
                Gauge.builder("lifeboat_wal_archive_streaming", latest,
                                m -> value(m.get(sourceId), s -> WalStatus.STREAMING.equals(s.state()) ? 1.0 : 0.0))
                        .description("1 while this worker streams the source's WAL, 0 while it reconnects")
                        .tag("source", sourceId).register(registry),
                Gauge.builder("lifeboat_wal_archive_refused", latest,
                                m -> value(m.get(sourceId), s -> WalStatus.REFUSED.equals(s.state()) ? 1.0 : 0.0))
                        .description("1 while the source's archive refuses its server, which is another PostgreSQL "
                                + "cluster than the archive's (the status's error says what to do)")
                        .tag("source", sourceId).register(registry));
    }

    private static double value(WalStatus status, java.util.function.Function<WalStatus, Double> read) {
        if (status == null) {
            return Double.NaN;
        }
        Double v = read.apply(status);
        return v == null ? Double.NaN : v;
    }
}
