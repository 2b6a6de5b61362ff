package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.TargetServer;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.PlanRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

@ApplicationScoped
public class PlanService {
    private final Db db;
    private final PlanRepository plans;
    private final SourceDirectory sources;
    private final DrillScheduler drills;
    private final RestoreTargets targets;
    private final UrlPolicy urls;

    public PlanService(Db db, PlanRepository plans, SourceDirectory sources, DrillScheduler drills,
                       RestoreTargets targets, UrlPolicy urls) {
        this.db = db;
        this.plans = plans;
        this.sources = sources;
        this.drills = drills;
        this.targets = targets;
        this.urls = urls;
    }

    @WithSpan("PlanService.list")
    public List<PlanSpec> list() {
        return db.tx(plans::list);
    }

    @WithSpan("PlanService.get")
    public PlanSpec get(String id) {
        return db.tx(c -> plans.find(c, id)).orElseThrow(() -> ProblemException.notFound("plan", id));
    }

    @WithSpan("PlanService.create")
    public PlanSpec create(JsonNode body, String principal) {
        PlanSpec plan = checkUrls(PlanValidator.read(body, null));
        Map<Integer, SourceDirectory.Source> live = liveSources(plan);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        PlanSpec stored = plan.withTimes(now, now).withAuthors(principal, principal);
        if (!db.tx(c -> {
            checkLiveSources(plan, targets.resolve(c, plan, null, null), live);
            return plans.insert(c, stored);
        })) {
            throw ProblemException.conflict("plan '" + plan.id() + "' exists; PUT /api/v1/plans/" + plan.id()
                    + " changes it");
        }
        drills.schedule(stored);
        return stored;
    }

    @WithSpan("PlanService.update")
    public PlanSpec update(String id, JsonNode body, String principal) {
        PlanSpec plan = checkUrls(PlanValidator.read(body, id));
        Map<Integer, SourceDirectory.Source> live = liveSources(plan);
        PlanSpec stored = db.tx(c -> {
            checkLiveSources(plan, targets.resolve(c, plan, null, null), live);
            PlanSpec old = plans.find(c, id).orElseThrow(() -> ProblemException.notFound("plan", id));
            PlanSpec updated = plan.withTimes(old.createdAt(), Instant.now().truncatedTo(ChronoUnit.MICROS))
                    .withAuthors(old.createdBy(), principal);
            plans.update(c, updated);
            return updated;
        });
        drills.schedule(stored);
        return stored;
    }

    /** Runs keep their own copy of the plan, so deleting a plan leaves its run history readable. */
    @WithSpan("PlanService.delete")
    public void delete(String id) {
        if (!db.tx(c -> plans.delete(c, id))) {
            throw ProblemException.notFound("plan", id);
        }
        drills.unschedule(id);
    }

    /** Every RestartServices and NotifyStakeholders URL must pass the URL policy (422 naming each). */
    private PlanSpec checkUrls(PlanSpec plan) {
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < plan.steps().size(); i++) {
            String at = "steps[" + i + "]";
            switch (plan.steps().get(i)) {
                case PlanStep.RestartServices r -> {
                    for (int j = 0; j < r.endpoints().size(); j++) {
                        String p = at + ".endpoints[" + j + "].url: ";
                        urls.problem(r.endpoints().get(j).url()).ifPresent(u -> problems.add(p + u));
                    }
                }
                case PlanStep.NotifyStakeholders n -> {
                    for (int j = 0; j < n.webhooks().size(); j++) {
                        String p = at + ".webhooks[" + j + "]: ";
                        urls.problem(n.webhooks().get(j)).ifPresent(u -> problems.add(p + u));
                    }
                }
                default -> {
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new ProblemException(422, "URL not allowed", String.join("; ", problems));
        }
        return plan;
    }

    /**
     * The source of every restore step, by step index: each must be registered in scheduler-service (422
     * otherwise).
     */
    private Map<Integer, SourceDirectory.Source> liveSources(PlanSpec plan) {
        Map<Integer, SourceDirectory.Source> found = new HashMap<>();
        Set<String> unknown = new LinkedHashSet<>();
        for (int i = 0; i < plan.steps().size(); i++) {
            String sourceId = switch (plan.steps().get(i)) {
                case PlanStep.RestoreDatabase r -> r.sourceId();
                case PlanStep.RestoreCluster r -> r.sourceId();
                default -> null;
            };
            if (sourceId == null) {
                continue;
            }
            Optional<SourceDirectory.Source> source = sources.find(sourceId);
            if (source.isEmpty()) {
                unknown.add(sourceId);
            } else {
                found.put(i, source.get());
            }
        }
        if (!unknown.isEmpty()) {
            throw new ProblemException(422, "Unknown source", "source" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", unknown.stream().map(u -> "'" + u + "'").toList())
                    + " not registered in scheduler-service (GET /api/v1/sources/{id} answered 404)");
        }
        return found;
    }

    /** A restore must not target its source's own live database unless the step says allowLiveSource. */
    private static void checkLiveSources(PlanSpec plan, Map<Integer, TargetServer> servers,
                                         Map<Integer, SourceDirectory.Source> live) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Integer, TargetServer> e : servers.entrySet()) {
            PlanStep.RestoreDatabase r = (PlanStep.RestoreDatabase) plan.steps().get(e.getKey());
            SourceDirectory.Source s = live.get(e.getKey());
            TargetServer t = e.getValue();
            if (s != null && !r.allowLiveSource() && t.port() == s.port() && r.database().equals(s.database())
                    && sameHost(t.host(), s.host())) {
                problems.add("steps[" + e.getKey() + "]: " + t.target(r.database()).describe() + " (target server '"
                        + t.name() + "') is the live database of source '" + s.id() + "'; restoring would overwrite "
                        + "it (set allowLiveSource=true to mean it)");
            }
        }
        if (!problems.isEmpty()) {
            throw new ProblemException(422, "Restore target is a live source", String.join("; ", problems));
        }
    }

    private static boolean sameHost(String a, String b) {
        if (a == null || b == null) {
            return false;
        }
        if (a.equalsIgnoreCase(b)) {
            return true;
        }
        try {
            InetAddress x = InetAddress.getByName(a);
            InetAddress y = InetAddress.getByName(b);
            return x.equals(y) || (x.isLoopbackAddress() && y.isLoopbackAddress());
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
