package dev.lifeboat.catalog.service;

import dev.lifeboat.catalog.client.SchedulerClient;
import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.domain.RpoCompliance;
import dev.lifeboat.catalog.repository.BackupRepository;
import dev.lifeboat.kit.rest.ProblemException;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.WebApplicationException;
import org.eclipse.microprofile.rest.client.inject.RestClient;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.List;

/** RPO compliance of a source: its newest restorable backup from the catalog, its RPO from scheduler-service. */
@ApplicationScoped
public class RpoQueries {
    private static final Logger LOG = Logger.getLogger(RpoQueries.class);

    private final BackupRepository backups;
    private final SchedulerClient scheduler;

    public RpoQueries(BackupRepository backups, @RestClient SchedulerClient scheduler) {
        this.backups = backups;
        this.scheduler = scheduler;
    }

    @WithSpan("RpoQueries.compliance")
    public Uni<RpoCompliance> compliance(String sourceId) {
        // the catalog first, in its own session; then the scheduler, which owns whether the source exists at all
        return newestRestorable(sourceId)
                .chain(newest -> policies(sourceId)
                        .map(policies -> RpoCompliance.evaluate(sourceId, policies, newest, Instant.now())));
    }

    private Uni<Backup> newestRestorable(String sourceId) {
        return Panache.withSession(() -> backups.latestCompleted(sourceId));
    }

    private Uni<List<RpoCompliance.Policy>> policies(String sourceId) {
        return scheduler.source(sourceId)
                .chain(() -> scheduler.policies(sourceId))
                .map(list -> list.stream()
                        .filter(p -> sourceId.equals(p.sourceId()))
                        .map(p -> new RpoCompliance.Policy(p.id(), p.type(), p.enabled(), p.rpo()))
                        .toList())
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
