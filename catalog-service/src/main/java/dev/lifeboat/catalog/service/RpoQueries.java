package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.client.SchedulerClient;
import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.RpoCompliance;
import dev.lifeboat.catalog.domain.WalArchiveStatus;
import dev.lifeboat.catalog.repository.BackupRepository;
import dev.lifeboat.catalog.repository.WalStatusRepository;
import dev.lifeboat.kit.rest.ProblemException;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.WebApplicationException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * RPO compliance of a source: its RPO from scheduler-service, and what it achieves from the catalog: the newest
 * restorable backup of a logical source, the newest WAL archiving status of a physical one.
 */
@ApplicationScoped
public class RpoQueries {
    private static final Logger LOG = Logger.getLogger(RpoQueries.class);

    private final BackupRepository backups;
    private final WalStatusRepository walStatuses;
    private final SchedulerClient scheduler;
    private final Duration walStatusStaleAfter;

    public RpoQueries(BackupRepository backups, WalStatusRepository walStatuses, @RestClient SchedulerClient scheduler,
                      @ConfigProperty(name = "lifeboat.catalog.wal-status-stale-after", defaultValue = "60s")
                      Duration walStatusStaleAfter) {
        this.backups = backups;
        this.walStatuses = walStatuses;
        this.scheduler = scheduler;
        this.walStatusStaleAfter = walStatusStaleAfter;
    }

    @WithSpan("RpoQueries.compliance")
    public Uni<RpoCompliance> compliance(String sourceId) {
        // the catalog first, in its own session; then the scheduler, which owns whether the source exists at all
        return newestRestorable(sourceId)
                .chain(newest -> sourceAndPolicies(sourceId).chain(source -> {
                    if (PHYSICAL.equals(source.method())) {
                        return Panache.withSession(() -> walStatuses.findById(sourceId))
                                .map(status -> evaluate(sourceId, source.method(), source.policies(), newest,
                                        status, Instant.now()));
                    }
                    return Uni.createFrom().item(evaluate(sourceId, source.method(), source.policies(), newest,
                            null, Instant.now()));
                }));
    }

    /**
     * The one rule of RPO compliance, for one source and for the fleet: a physical source by its WAL archive
     * ({@code status}), any other by its newest restorable backup ({@code newest}).
     */
    public RpoCompliance evaluate(String sourceId, String method, List<RpoCompliance.Policy> policies, Backup newest,
                                  WalArchiveStatus status, Instant now) {
        return evaluate(sourceId, method, policies, RpoCompliance.LatestBackup.of(newest, now), status, now);
    }

    /** The same, with the newest restorable backup's age already taken ({@code latest}, null: none). */
    public RpoCompliance evaluate(String sourceId, String method, List<RpoCompliance.Policy> policies,
                                  RpoCompliance.LatestBackup latest, WalArchiveStatus status, Instant now) {
        return PHYSICAL.equals(method)
                ? RpoCompliance.evaluatePhysical(sourceId, policies, latest, status, now, walStatusStaleAfter)
                : RpoCompliance.evaluate(sourceId, policies, latest, now);
    }

    /** How long the catalog waits for a WAL archiver's report before it calls the last one stale. */
    public Duration walStatusStaleAfter() {
        return walStatusStaleAfter;
    }

    static final String PHYSICAL = "physical";

    private record SourcePolicies(String method, List<RpoCompliance.Policy> policies) {
    }

    private Uni<Backup> newestRestorable(String sourceId) {
        return Panache.withSession(() -> backups.latestCompleted(sourceId));
    }

    private Uni<SourcePolicies> sourceAndPolicies(String sourceId) {
        return scheduler.source(sourceId)
                .chain(source -> scheduler.policies(sourceId)
                        .map(list -> new SourcePolicies(source.method(), list.stream()
                                .filter(p -> sourceId.equals(p.sourceId()))
                                .map(p -> new RpoCompliance.Policy(p.id(), p.type(), p.enabled(), p.rpo()))
                                .toList())))
                .onFailure().transform(t -> problem(sourceId, t));
    }

    private static Throwable problem(String sourceId, Throwable t) {
        if (t instanceof WebApplicationException w) {
            int status = w.getResponse().getStatus();
            if (status == 404) {
                return new ProblemException(404, "Not Found",
                        "source '" + sourceId + "' is not known to scheduler-service");
            }
            LOG.warnf("scheduler-service answered %d for source %s", status, sourceId);
            return new ProblemException(502, "Bad Gateway", "scheduler-service answered HTTP " + status
                    + " when asked for the policies of source '" + sourceId + "'; its RPO is unknown");
        }
        LOG.warnf("scheduler-service unreachable for source %s: %s", sourceId, t.toString());
        return new ProblemException(503, "Service Unavailable", "scheduler-service is unreachable ("
                + t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage())
                + "), so the RPO of source '" + sourceId + "' is unknown; try again later");
    }
}
