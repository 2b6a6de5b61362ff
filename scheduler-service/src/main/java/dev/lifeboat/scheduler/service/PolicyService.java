package dev.lifeboat.scheduler.service;

import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.scheduler.domain.MaxDuration;
import dev.lifeboat.scheduler.domain.OffsiteRules;
import dev.lifeboat.scheduler.domain.Policy;
import dev.lifeboat.scheduler.domain.Source;
import dev.lifeboat.scheduler.rest.PolicyRequest;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.hibernate.reactive.panache.common.WithTransaction;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

@ApplicationScoped
public class PolicyService {
    static final int DEFAULT_DAILY = 7;
    static final int DEFAULT_WEEKLY = 4;
    static final int DEFAULT_MONTHLY = 12;

    @Inject
    PolicyScheduler scheduler;
    /** The destination snapshot-worker uses when a policy names none: what an offsite destination must differ from. */
    @ConfigProperty(name = "lifeboat.object-store.default-bucket", defaultValue = "lifeboat-backups")
    String defaultBucket;
    @ConfigProperty(name = "lifeboat.snapshot.default-prefix", defaultValue = "backups")
    String defaultPrefix;
    /** A policy's maxDuration when the request names none. */
    @ConfigProperty(name = "lifeboat.policy.default-max-duration", defaultValue = "PT6H")
    Duration defaultMaxDuration;

    @WithSession
    public Uni<List<Policy>> list(String sourceId) {
        return sourceId == null ? Policy.listAll(Sort.by("id")) : Policy.list("sourceId", Sort.by("id"), sourceId);
    }

    /**
     * Every policy of the first {@code sources} source ids after {@code afterSourceId} (null: from the start), by
     * source id, then policy id: a page of the fleet's policies, complete for each source it names. Ids compare
     * bytewise (collation "C", as catalog-service pages the fleet), whatever the database's collation, along the
     * index of that order (Flyway V11), which lets the walk stop after the page.
     */
    @WithSession
    public Uni<List<Policy>> listBySourcePage(String afterSourceId, int sources) {
        String after = afterSourceId == null ? "" : afterSourceId;
        return Panache.getSession().chain(session -> session.<String>createNativeQuery("""
                        select distinct source_id collate "C" from scheduler.policy
                         where source_id collate "C" > :after
                         order by 1
                         limit :sources""", String.class)
                        .setParameter("after", after)
                        .setParameter("sources", sources)
                        .getResultList())
                .chain(ids -> ids.isEmpty() ? Uni.createFrom().item(List.<Policy>of())
                        : Policy.<Policy>list("sourceId in ?1", ids).map(found -> found.stream()
                                .sorted(Comparator.comparing((Policy p) -> p.sourceId).thenComparing(p -> p.id))
                                .toList()));
    }

    @WithSession
    public Uni<Policy> get(String id) {
        return Policy.<Policy>findById(id).onItem().ifNull().failWith(() -> ProblemException.notFound("policy", id));
    }

    @WithTransaction
    @WithSpan("PolicyService.create")
    public Uni<Policy> create(PolicyRequest req, String principal) {
        CronSchedule.problem(req.schedule()).ifPresent(p -> {
            throw ProblemException.badRequest(p);
        });
        MaxDuration.problem(req.maxDuration()).ifPresent(p -> {
            throw ProblemException.badRequest(p);
        });
        if (req.offsite() != null) {
            OffsiteRules.problem(req.destination() == null ? null : req.destination().bucket(),
                    req.destination() == null ? null : req.destination().prefix(), req.offsite().bucket(),
                    req.offsite().prefix(), defaultBucket, defaultPrefix).ifPresent(p -> {
                throw new ProblemException(400, "Invalid offsite destination", p);
            });
        }
        String id = req.id() != null ? req.id() : "pol-" + UUID.randomUUID().toString().substring(0, 8);
        return Source.findById(req.sourceId()).chain(source -> {
            if (source == null) {
                throw new ProblemException(422, "Unknown source", "source '" + req.sourceId() + "' is not registered");
            }
            return Policy.<Policy>findById(id);
        }).chain(existing -> {
            if (existing != null) {
                throw ProblemException.conflict("policy '" + id + "' already exists");
            }
            Policy p = new Policy();
            p.id = id;
            p.createdAt = Instant.now();
            p.createdBy = principal;
            p.updatedBy = principal;
            apply(p, req);
            return p.<Policy>persist();
        }).invoke(scheduler::schedule);
    }

    @WithTransaction
    public Uni<Void> delete(String id) {
        return get(id).call(Policy::delete).invoke(p -> scheduler.unschedule(p.id)).replaceWithVoid();
    }

    private void apply(Policy p, PolicyRequest req) {
        p.sourceId = req.sourceId();
        p.type = req.type();
        p.schedule = req.schedule().trim();
        PolicyRequest.Retention r = req.retention();
        p.keepDaily = r == null || r.daily() == null ? DEFAULT_DAILY : r.daily();
        p.keepWeekly = r == null || r.weekly() == null ? DEFAULT_WEEKLY : r.weekly();
        p.keepMonthly = r == null || r.monthly() == null ? DEFAULT_MONTHLY : r.monthly();
        p.bucket = req.destination() == null ? null : req.destination().bucket();
        p.prefix = req.destination() == null ? null : req.destination().prefix();
        p.offsiteBucket = req.offsite() == null ? null : req.offsite().bucket();
        p.offsitePrefix = req.offsite() == null ? null : req.offsite().prefix();
        p.rpo = req.rpo();
        p.maxDuration = req.maxDuration() != null ? Duration.parse(req.maxDuration()).toString()
                : defaultMaxDuration.toString();
        p.enabled = req.enabled() == null || req.enabled();
        p.updatedAt = Instant.now();
    }
}
