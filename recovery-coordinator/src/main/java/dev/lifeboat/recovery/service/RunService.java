package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.PlanRepository;
import dev.lifeboat.recovery.repository.RunRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;
import java.util.Locale;

/** Starting runs and reading them back. */
@ApplicationScoped
public class RunService {
    public record RunDetails(Run run, List<RunRepository.StepRow> steps, JsonNode result, List<JsonNode> transitions) {
    }

    private final Db db;
    private final RunRepository runs;
    private final PlanRepository plans;
    private final SagaEngine engine;

    public RunService(Db db, RunRepository runs, PlanRepository plans, SagaEngine engine) {
        this.db = db;
        this.runs = runs;
        this.plans = plans;
        this.engine = engine;
    }

    @WithSpan("RunService.start")
    public Run start(String planId, JsonNode body) {
        String mode = body == null ? null : body.path("mode").asText(null);
        if (mode == null || !(mode.equalsIgnoreCase("recovery") || mode.equalsIgnoreCase("drill"))) {
            throw ProblemException.badRequest("mode: '" + mode + "' must be 'recovery' or 'drill'");
        }
        return engine.start(planId, RunMode.valueOf(mode.toUpperCase(Locale.ROOT)), "api", null);
    }

    public RunDetails get(String runId) {
        return db.tx(c -> {
            Run r = runs.find(c, runId).orElseThrow(() -> ProblemException.notFound("run", runId));
            return new RunDetails(r, runs.steps(c, runId), runs.result(c, runId), runs.transitions(c, runId));
        });
    }

    public List<RunDetails> ofPlan(String planId) {
        return db.tx(c -> {
            if (plans.find(c, planId).isEmpty() && runs.ofPlan(c, planId).isEmpty()) {
                throw ProblemException.notFound("plan", planId);
            }
            List<RunDetails> list = new java.util.ArrayList<>();
            for (Run r : runs.ofPlan(c, planId)) {
                list.add(new RunDetails(r, runs.steps(c, r.id), runs.result(c, r.id), null));
            }
            return list;
        });
    }
}
