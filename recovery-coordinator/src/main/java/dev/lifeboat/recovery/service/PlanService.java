package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.PlanRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

@ApplicationScoped
public class PlanService {
    private final Db db;
    private final PlanRepository plans;
    private final SourceDirectory sources;
    private final DrillScheduler drills;

    public PlanService(Db db, PlanRepository plans, SourceDirectory sources, DrillScheduler drills) {
        this.db = db;
        this.plans = plans;
        this.sources = sources;
        this.drills = drills;
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
    public PlanSpec create(JsonNode body) {
        PlanSpec plan = checkSources(PlanValidator.read(body, null));
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        PlanSpec stored = plan.withTimes(now, now);
        if (!db.tx(c -> plans.insert(c, stored))) {
            throw ProblemException.conflict("plan '" + plan.id() + "' exists; PUT /api/v1/plans/" + plan.id()
                    + " changes it");
        }
        drills.schedule(stored);
        return stored;
    }

    @WithSpan("PlanService.update")
    public PlanSpec update(String id, JsonNode body) {
        PlanSpec plan = checkSources(PlanValidator.read(body, id));
        PlanSpec stored = db.tx(c -> {
            PlanSpec old = plans.find(c, id).orElseThrow(() -> ProblemException.notFound("plan", id));
            PlanSpec updated = plan.withTimes(old.createdAt(), Instant.now().truncatedTo(ChronoUnit.MICROS));
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

    /**
     * Every source a restore step names must be registered in scheduler-service (422 otherwise), and a restore
     * must not target the source's own live database unless the step says allowLiveSource.
     */
    private PlanSpec checkSources(PlanSpec plan) {
        List<String> problems = new ArrayList<>();
        Set<String> unknown = new LinkedHashSet<>();
        for (int i = 0; i < plan.steps().size(); i++) {
            if (!(plan.steps().get(i) instanceof PlanStep.RestoreDatabase r)) {
                continue;
            }
            Optional<SourceDirectory.Source> source = sources.find(r.sourceId());
            if (source.isEmpty()) {
                unknown.add(r.sourceId());
                continue;
            }
            SourceDirectory.Source s = source.get();
            if (!r.allowLiveSource() && sameDatabase(s, r)) {
                problems.add("steps[" + i + "].target: " + r.target().describe() + " is the live database of source '"
                        + s.id() + "'; restoring would overwrite it (set allowLiveSource=true to mean it)");
            }
        }
        if (!unknown.isEmpty()) {
            throw new ProblemException(422, "Unknown source", "source" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", unknown.stream().map(u -> "'" + u + "'").toList())
                    + " not registered in scheduler-service (GET /api/v1/sources/{id} answered 404)");
        }
        if (!problems.isEmpty()) {
            throw new ProblemException(422, "Restore target is a live source", String.join("; ", problems));
        }
        return plan;
    }

    private static boolean sameDatabase(SourceDirectory.Source s, PlanStep.RestoreDatabase r) {
        return r.target().port() == s.port() && r.target().database().equals(s.database())
                && sameHost(r.target().host(), s.host());
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
