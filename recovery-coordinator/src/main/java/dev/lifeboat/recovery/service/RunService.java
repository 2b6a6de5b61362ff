package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.identity.Roles;
import io.quarkus.security.identity.SecurityIdentity;
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
    /**
     * The title of the 404 that says the coordinator sent no such command, by which a participant tells it from a
     * coordinator without the endpoint (an older one, whose 404 means nothing about the command).
     */
    public static final String COMMAND_NOT_SENT = "Command Not Sent";

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

    /**
     * Body {@code {"mode": "drill" | "recovery", "replaceExisting": false}}. A recovery restores into the plan's
     * real databases: only an admin may start one, and only with {@code replaceExisting: true} may its restores
     * replace a database that exists (without it the restore refuses). Drills are for operators too.
     */
    @WithSpan("RunService.start")
    public Run start(String planId, JsonNode body, SecurityIdentity who) {
        if (body != null && !body.isNull() && !body.isObject()) {
            throw ProblemException.badRequest("request body must be a JSON object {\"mode\": \"drill\" | \"recovery\"}");
        }
        String mode = body == null ? null : body.path("mode").asText(null);
        if (mode == null || !(mode.equalsIgnoreCase("recovery") || mode.equalsIgnoreCase("drill"))) {
            throw ProblemException.badRequest("mode: '" + (mode == null ? null : TargetService.abbreviate(mode))
                    + "' must be 'recovery' or 'drill'");
        }
        RunMode runMode = RunMode.valueOf(mode.toUpperCase(Locale.ROOT));
        JsonNode replace = body.get("replaceExisting");
        if (replace != null && !replace.isNull() && !replace.isBoolean()) {
            throw ProblemException.badRequest("replaceExisting: must be true or false");
        }
        boolean replaceExisting = replace != null && replace.asBoolean(false);
        if (replaceExisting && runMode != RunMode.RECOVERY) {
            throw ProblemException.badRequest("replaceExisting: only a recovery run replaces databases; a drill "
                    + "restores into scratch databases of its own");
        }
        if (runMode == RunMode.RECOVERY && (who == null || !who.hasRole(Roles.ADMIN))) {
            throw new ProblemException(403, "Forbidden", "a recovery run restores into the plan's real databases "
                    + "and needs role " + Roles.ADMIN + "; start a drill instead, or ask an admin");
        }
        if (runMode == RunMode.DRILL && (who == null || !who.hasRole(Roles.ADMIN))) {
            // a drill restores into scratch databases, but its RestartServices steps call the real endpoints
            boolean restarts = db.tx(c -> plans.find(c, planId)).map(p -> p.steps().stream()
                    .anyMatch(step -> step instanceof dev.lifeboat.recovery.domain.PlanStep.RestartServices))
                    .orElse(false);
            if (restarts) {
                throw new ProblemException(403, "Forbidden", "plan '" + planId + "' has RestartServices steps, "
                        + "which call the real services even in a drill: a drill of it needs role " + Roles.ADMIN);
            }
        }
        // the trigger names who started the run; it travels in RecoveryStarted to the catalog
        return engine.start(planId, runMode, who == null ? "api" : "api:" + who.getPrincipal().getName(), null, replaceExisting);
    }

    public RunDetails get(String runId) {
        return db.tx(c -> {
            Run r = runs.find(c, runId).orElseThrow(() -> ProblemException.notFound("run", runId));
            return new RunDetails(r, runs.steps(c, runId), runs.result(c, runId), runs.transitions(c, runId));
        });
    }

    /**
     * Command {@code commandId} of run {@code runId} as this coordinator sent it, for a participant to check a command
     * it received against; 404 when it sent no such command.
     */
    public RunRepository.IssuedCommand command(String runId, String commandId) {
        return db.tx(c -> runs.issuedCommand(c, runId, commandId)).orElseThrow(() -> new ProblemException(404,
                COMMAND_NOT_SENT, "recovery-coordinator sent no command '" + TargetService.abbreviate(commandId)
                        + "' for run " + runId));
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
