package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyBackup;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.config.CoordinatorConfig;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.domain.RunStatus;
import dev.lifeboat.recovery.domain.SagaTable;
import dev.lifeboat.recovery.domain.SagaTable.Action;
import dev.lifeboat.recovery.domain.TargetServer;
import dev.lifeboat.recovery.messaging.CommandSender;
import dev.lifeboat.recovery.messaging.RunEventPublisher;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.PlanRepository;
import dev.lifeboat.recovery.repository.RunRepository;
import dev.lifeboat.recovery.repository.TargetRepository;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import org.jboss.logging.Logger;

import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The recovery saga. Every transition happens in one transaction holding the run's row lock: the outcome of the
 * pending command is recorded, the next command is chosen (SagaTable) and persisted as "pending" with its deadline,
 * and only after the commit is it sent. A reply whose commandId is not the run's pending one (a duplicate, a late
 * reply after a timeout, an unknown run) changes nothing, so no step runs twice.
 */
@ApplicationScoped
public class SagaEngine {
    private static final Logger LOG = Logger.getLogger(SagaEngine.class);
    /** The action of the drop that undoes a restore whose success arrived after its step timed out. */
    private static final String LATE_DROP = "late-drop";

    /** What to do once the transaction committed. */
    sealed interface Effect {
    }

    record Send(String runId, String traceparent, Run.Pending pending) implements Effect {
    }

    record RunLocal(String runId, Run.Pending pending, Duration timeout) implements Effect {
    }

    record Emit(String runId) implements Effect {
    }

    private final Db db;
    private final RunRepository runs;
    private final PlanRepository plans;
    private final CommandSender sender;
    private final RunEventPublisher events;
    private final LocalSteps local;
    private final CoordinatorConfig config;
    private final Tracer tracer;
    private final RestoreTargets targets;
    private final TargetRepository targetServers;
    private final ExecutorService localWork = Executors.newVirtualThreadPerTaskExecutor();

    public SagaEngine(Db db, RunRepository runs, PlanRepository plans, CommandSender sender, RunEventPublisher events,
                      LocalSteps local, CoordinatorConfig config, Tracer tracer, RestoreTargets targets,
                      TargetRepository targetServers) {
        this.db = db;
        this.runs = runs;
        this.plans = plans;
        this.sender = sender;
        this.events = events;
        this.local = local;
        this.config = config;
        this.tracer = tracer;
        this.targets = targets;
        this.targetServers = targetServers;
    }

    @PreDestroy
    void stop() {
        localWork.shutdownNow();
    }

    /** Starts a run of the plan. With a given runId (drills), a run that exists already is returned, not repeated. */
    public Run start(String planId, RunMode mode, String trigger, String runId) {
        return start(planId, mode, trigger, runId, false);
    }

    /**
     * Starts a run. The target servers of its restore steps are resolved now and kept with the run (a target
     * changed later does not move a running restore), after checking that the databases the run will touch match
     * their patterns (422 otherwise). {@code replaceExisting} (recovery only) lets its restores replace an
     * existing database.
     */
    @WithSpan("SagaEngine.start")
    public Run start(String planId, RunMode mode, String trigger, String runId, boolean replaceExisting) {
        List<Effect> effects = new ArrayList<>();
        Run run = db.tx(c -> {
            PlanSpec plan = plans.find(c, planId).orElseThrow(() -> ProblemException.notFound("plan", planId));
            if (runId != null) {
                Optional<Run> existing = runs.find(c, runId);
                if (existing.isPresent()) {
                    return existing.get();
                }
            }
            Run r = new Run();
            r.id = runId != null ? runId : UUID.randomUUID().toString();
            Map<Integer, TargetServer> servers = targets.resolve(c, plan, mode, r.id);
            r.planId = planId;
            r.plan = plan;
            r.mode = mode;
            r.trigger = trigger;
            r.status = RunStatus.RUNNING;
            r.phase = Run.Phase.FORWARD;
            r.data = Db.json().createObjectNode();
            ObjectNode resolved = r.data.putObject("targets");
            servers.forEach((step, server) -> resolved.set(String.valueOf(step), Db.json().valueToTree(
                    server.target(restoreDatabase(r.id, mode, plan, step)))));
            if (replaceExisting && mode == RunMode.RECOVERY) {
                r.data.put("replaceExisting", true);
            }
            r.startedAt = Instant.now();
            // the run's root span: every command of the run is sent in a child of it (one run = one trace)
            Span root = tracer.spanBuilder("recovery-run " + planId).setAttribute("lifeboat.run.id", r.id)
                    .setAttribute("lifeboat.run.mode", mode.name()).setAttribute("lifeboat.plan.id", planId)
                    .startSpan();
            r.traceparent = CommandSender.traceparent(Context.current().with(root));
            root.end();
            if (!runs.insert(c, r)) {
                return runs.find(c, r.id).orElseThrow();
            }
            runs.transition(c, r.id, null, null, null, null, RunStatus.RUNNING, mode + " run started (" + trigger + ")"
                    + (r.data.path("replaceExisting").asBoolean() ? ", replacing existing databases" : ""));
            effects.add(new Emit(r.id));
            effects.add(next(c, r));
            return r;
        });
        perform(effects);
        return run;
    }

    /** A participant's reply. */
    public void onReply(StepReply reply) {
        complete(reply.runId(), reply.commandId(), reply.completed(), reply.message(), reply.result(),
                "reply from " + reply.participant());
    }

    /**
     * The outcome of the run's pending command or local action. Ignored unless {@code commandId} is exactly what
     * the run waits for.
     */
    public void complete(String runId, String commandId, boolean ok, String message, Map<String, Object> result,
                         String cause) {
        List<Effect> effects = new ArrayList<>();
        db.tx(c -> {
            Run r = runs.lock(c, runId).orElse(null);
            if (r == null || r.status.finished() || r.pending == null || !r.pending.commandId().equals(commandId)) {
                if (r != null && lateReply(c, r, commandId, ok, message, cause, effects)) {
                    return null;
                }
                LOG.debugf("ignored %s for %s: run %s", cause, commandId, r == null ? "unknown"
                        : r.status.finished() ? "finished" : "waits for " + (r.pending == null ? "nothing"
                        : r.pending.commandId()));
                return null;
            }
            Action a = new Action(r.pending.step(), r.pending.action(), r.phase == Run.Phase.CLEANUP);
            RunStatus before = r.status;
            Map<String, Object> res = result == null ? Map.of() : result;
            Instant now = Instant.now();
            r.pending = null;
            r.deadline = null;
            String note = (ok ? "completed" : "failed") + " (" + cause + ")" + (message == null ? "" : ": " + message);
            switch (r.phase) {
                case FORWARD -> {
                    if (ok) {
                        forwardSucceeded(c, r, a, message, res, now);
                        r.actionIndex++;
                    } else {
                        fail(c, r, a, message, res, now);
                    }
                }
                case CLEANUP -> {
                    runs.stepOutcome(c, r.id, a.step(), null, null, null, "cleanup",
                            outcome(ok, message, res));
                    if (!ok) {
                        r.data.withArrayProperty("cleanupProblems").add("drop of scratch database of step " + a.step()
                                + " failed: " + message);
                    }
                    r.actionIndex++;
                }
                case COMPENSATE -> {
                    compensated(c, r, a, ok, message, res, now);
                    r.compIndex++;
                }
                case DONE -> throw new IllegalStateException("run " + r.id + " is done");
            }
            runs.transition(c, r.id, a.step(), a.action(), commandId, before, r.status, note);
            effects.add(next(c, r));
            return null;
        });
        perform(effects);
    }

    /**
     * A reply to a command the run had already timed out: the participant started before the deadline and finished
     * after it. A restore that succeeded that late created a database the run reported as not restored, so it is
     * undone as the run's compensation would, by dropping it (a recovery that replaced an existing database keeps it:
     * dropping it would leave nothing); the reply to that drop is recorded too. Other late replies change nothing.
     * Returns whether the reply was one of these.
     */
    private boolean lateReply(Connection c, Run r, String commandId, boolean ok, String message, String cause,
                              List<Effect> effects) throws Exception {
        String ownDrop = "^" + java.util.regex.Pattern.quote(r.id) + ":(\\d{1,4}):" + LATE_DROP + "$";
        if (commandId.matches(ownDrop)) {
            int step = Integer.parseInt(commandId.replaceAll(ownDrop, "$1"));
            runs.stepOutcome(c, r.id, step, null, null, null, "lateReply", outcome(ok, message, Map.of()));
            runs.transition(c, r.id, step, SagaTable.DROP, commandId, r.status, r.status, "late compensation of step "
                    + step + " " + (ok ? "done" : "failed") + " (" + cause + ")"
                    + (message == null ? "" : ": " + message));
            return true;
        }
        int step;
        String action;
        // only a command this run timed out, answered late for the first time (a redelivered reply is a duplicate)
        try (var ps = c.prepareStatement("select step, action, bool_or(note like 'failed (timeout)%'), "
                + "bool_or(note like 'late reply%') from run_transitions where run_id = ? and command_id = ? "
                + "and step is not null group by step, action")) {
            ps.setString(1, r.id);
            ps.setString(2, commandId);
            var rs = ps.executeQuery();
            if (!rs.next() || !rs.getBoolean(3) || rs.getBoolean(4)) {
                return false;
            }
            step = rs.getInt(1);
            action = rs.getString(2);
        }
        if (!ok || !SagaTable.RESTORE.equals(action)) {
            runs.transition(c, r.id, step, action, commandId, r.status, r.status, "late reply for step " + step
                    + " after timeout (" + cause + "): " + (ok ? "completed" : "failed") + ", nothing to undo");
            return true;
        }
        DatabaseTarget target = target(c, r, step);
        String note = "late reply for step " + step + " after timeout (" + cause + "): ";
        if (r.mode == RunMode.RECOVERY && r.data.path("replaceExisting").asBoolean(false)) {
            runs.stepOutcome(c, r.id, step, null, null, null, "target", Map.of("database", target.describe(),
                    "state", "restored after the step timed out; it replaced the existing database, so it is left in "
                            + "place, marked failed"));
            runs.transition(c, r.id, step, action, commandId, r.status, r.status, note + "restored database "
                    + target.describe() + " left in place (it replaced the existing one), marked failed");
            return true;
        }
        String dropId = RecoveryCommand.commandId(r.id, step, LATE_DROP);
        Instant deadline = Instant.now().plus(timeout(r, step));
        Run.Pending drop = new Run.Pending(dropId, EventType.DROP_DATABASE.name(), step, SagaTable.DROP,
                Db.toJson(new DropDatabase(dropId, r.id, step, target, deadline)));
        runs.stepOutcome(c, r.id, step, null, null, null, "target", Map.of("database", target.describe(),
                "state", "restored after the step timed out: dropped as compensation"));
        runs.transition(c, r.id, step, action, commandId, r.status, r.status, note + "compensated, DropDatabase of "
                + target.describe() + " sent");
        LOG.warnf("run %s: step %d restored %s after it had timed out; dropping it", r.id, step, target.describe());
        effects.add(new Send(r.id, r.traceparent, drop));
        return true;
    }

    /** Times out every run whose deadline passed. Runs locked by another instance are left to it. */
    public void timeouts() {
        List<String> due = db.tx(c -> runs.ids(c, "select id from runs where status in ('RUNNING', 'COMPENSATING')"
                + " and deadline < now() and pending is not null"));
        for (String id : due) {
            Run r = db.tx(c -> runs.find(c, id).orElse(null));
            if (r == null || r.pending == null || r.deadline == null || r.deadline.isAfter(Instant.now())) {
                continue;
            }
            PlanStep step = r.plan.steps().get(r.pending.step());
            complete(id, r.pending.commandId(), false, "step " + r.pending.step() + " (" + step.kind()
                    + ") timed out after " + timeout(r, r.pending.step()) + " waiting for " + r.pending.action(),
                    Map.of("timedOut", true), "timeout");
        }
    }

    /**
     * Runs left RUNNING or COMPENSATING with nothing in flight (no pending command, or a pending one without a
     * deadline) for the stall timeout: no timer would ever move them, so they are taken up again here. A run
     * without a pending command dispatches its next action (forward, cleanup or compensation, as its state says);
     * one whose pending command lacks a deadline re-sends it with a fresh deadline. Returns how many.
     */
    public int stalled() {
        List<String> ids = db.tx(c -> runs.ids(c, "select id from runs where status in ('RUNNING', 'COMPENSATING')"
                + " and (pending is null or deadline is null) and updated_at < now() - make_interval(secs => "
                + Math.max(1, config.stallTimeout().toSeconds()) + ")"));
        for (String id : ids) {
            List<Effect> effects = new ArrayList<>();
            db.tx(c -> {
                Run r = runs.lock(c, id).orElse(null);
                if (r == null || r.status.finished() || r.pending != null && r.deadline != null) {
                    return null;
                }
                String note = "nothing in flight for over " + config.stallTimeout() + " (" + (r.pending == null
                        ? "no pending command" : "pending " + r.pending.commandId() + " had no deadline") + "): ";
                LOG.warnf("run %s: %s taken up again", r.id, note);
                if (r.pending == null) {
                    runs.transition(c, r.id, null, null, null, r.status, r.status, note + "next action dispatched");
                    effects.add(next(c, r));
                } else {
                    r.deadline = Instant.now().plus(timeout(r, r.pending.step()));
                    r.pending = withDeadline(r.pending, r.deadline);
                    runs.save(c, r, null);
                    runs.transition(c, r.id, r.pending.step(), r.pending.action(), r.pending.commandId(), r.status,
                            r.status, note + "pending command re-sent, deadline " + r.deadline);
                    effects.add(pendingEffect(r));
                }
                return null;
            });
            perform(effects);
        }
        return ids.size();
    }

    /**
     * After a restart: every RUNNING or COMPENSATING run re-sends its pending command with the same commandId
     * (participants dedupe it) and gets a fresh deadline; a reply that arrived meanwhile is consumed as usual.
     */
    public int resume() {
        List<String> active = db.tx(c -> runs.ids(c,
                "select id from runs where status in ('RUNNING', 'COMPENSATING') and pending is not null"));
        for (String id : active) {
            List<Effect> effects = new ArrayList<>();
            db.tx(c -> {
                Run r = runs.lock(c, id).orElse(null);
                if (r == null || r.pending == null || r.status.finished()) {
                    return null;
                }
                r.deadline = Instant.now().plus(timeout(r, r.pending.step()));
                r.pending = withDeadline(r.pending, r.deadline);
                runs.save(c, r, null);
                runs.transition(c, r.id, r.pending.step(), r.pending.action(), r.pending.commandId(), r.status,
                        r.status, "resumed after coordinator restart: pending command re-sent");
                effects.add(pendingEffect(r));
                return null;
            });
            perform(effects);
        }
        return active.size();
    }

    /** Lifecycle events not yet confirmed by Kafka (the coordinator stopped in between) go out again. */
    public void relayEvents() {
        // only events left unsent for a while: a fresh one is still being sent by the transition that made it
        List<String> ids = db.tx(c -> runs.ids(c, "select id from runs where (not started_event_sent and started_at "
                + "< now() - interval '10 seconds') or (finished_at < now() - interval '10 seconds' "
                + "and not finished_event_sent)"));
        ids.forEach(this::emit);
    }

    // ---------------------------------------------------------------- transitions

    /** Chooses and persists what the run does next; returns the effect for after the commit. */
    private Effect next(Connection c, Run r) throws Exception {
        List<Action> forward = SagaTable.forward(r.plan.steps(), r.mode);
        if (r.phase == Run.Phase.FORWARD || r.phase == Run.Phase.CLEANUP) {
            if (r.actionIndex < forward.size()) {
                Action a = forward.get(r.actionIndex);
                if (a.cleanup() && r.phase == Run.Phase.FORWARD) {
                    r.phase = Run.Phase.CLEANUP;
                    r.forwardFinishedAt = Instant.now();
                }
                return dispatch(c, r, a);
            }
            if (r.forwardFinishedAt == null) {
                r.forwardFinishedAt = Instant.now();
            }
            return finish(c, r, RunStatus.SUCCEEDED);
        }
        if (r.compIndex < r.compensations.size()) {
            return dispatch(c, r, r.compensations.get(r.compIndex));
        }
        boolean clean = !r.data.has("compensationProblems");
        return finish(c, r, r.mode == RunMode.DRILL && clean ? RunStatus.COMPENSATED : RunStatus.FAILED);
    }

    private Effect dispatch(Connection c, Run r, Action a) throws Exception {
        String commandId = RecoveryCommand.commandId(r.id, a.step(), a.action());
        EventType type = a.commandType();
        r.deadline = Instant.now().plus(timeout(r, a.step()));
        RecoveryCommand command = type == null ? null : command(c, r, a, commandId, r.deadline);
        r.pending = new Run.Pending(commandId, type == null ? null : type.name(), a.step(), a.action(),
                command == null ? null : Db.toJson(command));
        if (r.phase == Run.Phase.FORWARD) {
            runs.stepStarted(c, r.id, a.step(), Instant.now());
        }
        runs.save(c, r, null);
        runs.transition(c, r.id, a.step(), a.action(), commandId, r.status, r.status,
                (type == null ? "coordinator action " : "command " + type.ceType() + " ") + "sent, deadline "
                        + r.deadline);
        return pendingEffect(r);
    }

    /**
     * The pending command re-sent with the run's fresh deadline. A participant that already answered the command
     * (same commandId) answers again as before; one that never saw it may start it until the new deadline.
     */
    private static Run.Pending withDeadline(Run.Pending p, Instant deadline) {
        if (p.payload() == null) {
            return p;
        }
        try {
            ObjectNode command = (ObjectNode) Db.json().readTree(p.payload());
            command.put("deadline", deadline.toString());
            return new Run.Pending(p.commandId(), p.type(), p.step(), p.action(), Db.toJson(command));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("pending command " + p.commandId() + " is unreadable: " + e.getMessage(), e);
        }
    }

    private Effect pendingEffect(Run r) {
        return r.pending.type() == null ? new RunLocal(r.id, r.pending, timeout(r, r.pending.step()))
                : new Send(r.id, r.traceparent, r.pending);
    }

    /** The command of {@code a}; it carries the run's deadline for it, past which participants do not start it. */
    private RecoveryCommand command(Connection c, Run r, Action a, String commandId, Instant deadline)
            throws Exception {
        List<PlanStep> steps = r.plan.steps();
        return switch (a.action()) {
            case SagaTable.PREPARE -> {
                PlanStep.RestoreDatabase s = (PlanStep.RestoreDatabase) steps.get(a.step());
                // a drill proves the RPO can be met, so it asks for a backup young enough; a recovery restores the
                // newest there is and reports whether it met the RPO
                Long maxAge = s.latest() && r.mode == RunMode.DRILL ? r.plan.rpoDuration().toSeconds() : null;
                yield new PrepareRestore(commandId, r.id, a.step(), s.sourceId(), s.latest() ? null : s.backup(),
                        maxAge == null ? null : Math.max(1, maxAge), deadline);
            }
            case SagaTable.RESTORE -> {
                PlanStep.RestoreDatabase s = (PlanStep.RestoreDatabase) steps.get(a.step());
                yield new RestoreDatabase(commandId, r.id, a.step(), backup(r, a.step()), target(c, r, a.step()),
                        s.jobs(), r.mode == RunMode.RECOVERY && r.data.path("replaceExisting").asBoolean(false),
                        deadline);
            }
            case SagaTable.VERIFY_BACKUP -> new VerifyBackup(commandId, r.id, a.step(),
                    backup(r, SagaTable.restoreBefore(steps, a.step())), deadline);
            case SagaTable.VERIFY_DATABASE -> {
                int restore = SagaTable.restoreBefore(steps, a.step());
                List<SqlCheck> checks = ((PlanStep.VerifyIntegrity) steps.get(a.step())).checks();
                // TABLE_MATCHES_SOURCE compares with what the restored backup recorded
                boolean compares = checks.stream().anyMatch(k -> k.kind() == SqlCheck.Kind.TABLE_MATCHES_SOURCE);
                yield new VerifyDatabase(commandId, r.id, a.step(), target(c, r, restore), checks,
                        compares ? backup(r, restore) : null, deadline);
            }
            case SagaTable.DROP -> new DropDatabase(commandId, r.id, a.step(), target(c, r, a.step()), deadline);
            default -> throw new IllegalStateException("not a command: " + a.action());
        };
    }

    private void forwardSucceeded(Connection c, Run r, Action a, String message, Map<String, Object> res, Instant now)
            throws Exception {
        if (SagaTable.PREPARE.equals(a.action())) {
            JsonNode backup = Db.json().valueToTree(res.get("backup"));
            r.data.withObjectProperty("backups").set(String.valueOf(a.step()), backup);
            if (!r.data.has("backupId") && backup != null) {
                r.data.put("backupId", backup.path("backupId").asText(null));
                r.data.put("sourceId", backup.path("sourceId").asText(null));
                Long age = backupAge(r, backup, res);
                if (age != null) {
                    r.data.put("backupAgeSeconds", age);
                }
            }
        }
        List<Action> forward = SagaTable.forward(r.plan.steps(), r.mode);
        boolean lastOfStep = r.actionIndex + 1 >= forward.size() || forward.get(r.actionIndex + 1).step() != a.step()
                || forward.get(r.actionIndex + 1).cleanup();
        runs.stepOutcome(c, r.id, a.step(), lastOfStep ? "SUCCEEDED" : null, lastOfStep ? now : null,
                message, a.action(), res);
    }

    private void fail(Connection c, Run r, Action a, String message, Map<String, Object> res, Instant now)
            throws Exception {
        PlanStep step = r.plan.steps().get(a.step());
        String why = message == null || message.isBlank() ? a.action() + " failed" : message;
        runs.stepOutcome(c, r.id, a.step(), "FAILED", now, why, a.action(), res);
        r.reason = "step " + a.step() + " (" + step.kind() + ") failed: " + why;
        r.forwardFinishedAt = now;
        r.status = RunStatus.COMPENSATING;
        r.phase = Run.Phase.COMPENSATE;
        r.compensations = SagaTable.compensations(r.plan.steps(), r.mode, a);
        r.compIndex = 0;
        if (r.mode == RunMode.RECOVERY) {
            // a recovery never drops what it restored: the target stays for people to inspect, marked failed
            for (int i = 0; i <= a.step(); i++) {
                if (r.plan.steps().get(i) instanceof PlanStep.RestoreDatabase) {
                    runs.stepOutcome(c, r.id, i, null, null, null, "target", Map.of("database",
                            target(c, r, i).describe(), "state", "left in place, marked failed: " + r.reason));
                }
            }
        }
    }

    private void compensated(Connection c, Run r, Action a, boolean ok, String message, Map<String, Object> res,
                             Instant now) throws Exception {
        if (SagaTable.DROP.equals(a.action())) {
            runs.stepOutcome(c, r.id, a.step(), ok ? "COMPENSATED" : null, null, null, "compensation",
                    outcome(ok, message, res));
        } else {
            runs.stepOutcome(c, r.id, a.step(), null, null, null, a.action(), outcome(ok, message, res));
        }
        if (!ok) {
            r.data.withArrayProperty("compensationProblems").add(a.action() + " of step " + a.step() + " failed: " + message);
        }
    }

    private Effect finish(Connection c, Run r, RunStatus status) throws Exception {
        RunStatus before = r.status;
        r.status = status;
        r.phase = Run.Phase.DONE;
        r.pending = null;
        r.deadline = null;
        r.finishedAt = Instant.now();
        if (r.data.has("compensationProblems")) {
            r.reason = r.reason + "; compensation incomplete: " + join(r.data.get("compensationProblems"));
        } else if (status == RunStatus.SUCCEEDED && r.data.has("cleanupProblems")) {
            r.reason = "succeeded, but cleanup failed: " + join(r.data.get("cleanupProblems"));
        }
        runs.save(c, r, result(r));
        runs.transition(c, r.id, null, null, null, before, status, r.reason == null ? "run finished" : r.reason);
        return new Emit(r.id);
    }

    /** The run's result as answered by GET /runs/{id} and reported in RecoveryFinished. */
    Map<String, Object> result(Run r) {
        Map<String, Object> m = new LinkedHashMap<>();
        Instant end = r.forwardFinishedAt != null ? r.forwardFinishedAt : Instant.now();
        long total = Duration.between(r.startedAt, end).toMillis();
        long rto = r.plan.rtoDuration().toMillis();
        boolean success = r.status == RunStatus.SUCCEEDED;
        Long age = r.data.has("backupAgeSeconds") ? r.data.get("backupAgeSeconds").asLong() : null;
        m.put("success", success);
        m.put("totalMillis", total);
        m.put("rtoMillis", rto);
        m.put("rtoMet", success && total <= rto);
        m.put("rpoMillis", r.plan.rpoDuration().toMillis());
        m.put("rpoMet", age == null ? null : age * 1000 <= r.plan.rpoDuration().toMillis());
        m.put("backupAgeSeconds", age);
        m.put("backupId", r.data.path("backupId").asText(null));
        m.put("sourceId", r.data.path("sourceId").asText(null));
        m.put("reason", r.reason);
        return m;
    }

    // ---------------------------------------------------------------- effects

    private void perform(List<Effect> effects) {
        for (Effect e : effects) {
            try {
                switch (e) {
                    case Send s -> sender.send(s.runId(), s.traceparent(), s.pending());
                    case RunLocal l -> localWork.submit(() -> runLocal(l));
                    case Emit m -> emit(m.runId());
                    case null -> {
                    }
                }
            } catch (RuntimeException ex) {
                // the command stays pending: the deadline (or a restart) decides; the event relay retries events
                LOG.warnf("after-commit effect %s failed: %s", e, ex.toString());
            }
        }
    }

    private void runLocal(RunLocal l) {
        Run.Pending p = l.pending();
        LocalSteps.Outcome outcome;
        try {
            Run r = db.tx(c -> runs.find(c, l.runId()).orElseThrow());
            outcome = switch (p.action()) {
                case SagaTable.RESTART -> local.restart((PlanStep.RestartServices) r.plan.steps().get(p.step()));
                case SagaTable.NOTIFY -> local.notify(webhooks(r, p.step()), summary(l.runId()));
                case SagaTable.NOTIFY_FAILURE -> local.notify(allWebhooks(r), summary(l.runId()));
                default -> throw new IllegalStateException("not a local action: " + p.action());
            };
        } catch (RuntimeException e) {
            LOG.warnf(e, "local action %s failed", p.commandId());
            outcome = new LocalSteps.Outcome(false, p.action() + " failed: " + e, Map.of());
        }
        complete(l.runId(), p.commandId(), outcome.ok(), outcome.message(), outcome.details(), "coordinator");
    }

    private void emit(String runId) {
        try {
            Run r = db.tx(c -> runs.find(c, runId).orElseThrow());
            boolean[] sent = db.tx(c -> {
                try (var ps = c.prepareStatement(
                        "select started_event_sent, finished_event_sent from runs where id = ?")) {
                    ps.setString(1, runId);
                    var rs = ps.executeQuery();
                    rs.next();
                    return new boolean[]{rs.getBoolean(1), rs.getBoolean(2)};
                }
            });
            if (!sent[0]) {
                events.started(new RecoveryStarted(r.id, r.planId, r.plan.name(), r.mode, r.trigger,
                        r.plan.rtoDuration().toMillis(), r.plan.rpoDuration().toSeconds(), r.startedAt), r.traceparent);
                db.tx(c -> {
                    runs.markEventSent(c, runId, "started_event_sent");
                    return null;
                });
            }
            if (r.status.finished() && !sent[1]) {
                events.finished(finishedEvent(r), r.traceparent);
                db.tx(c -> {
                    runs.markEventSent(c, runId, "finished_event_sent");
                    return null;
                });
            }
        } catch (RuntimeException e) {
            LOG.warnf("lifecycle event of run %s not sent yet, will retry: %s", runId, e.toString());
        }
    }

    private RecoveryFinished finishedEvent(Run r) {
        Map<String, Object> res = result(r);
        List<RunRepository.StepRow> steps = db.tx(c -> runs.steps(c, r.id));
        return new RecoveryFinished(r.id, r.planId, r.plan.name(), r.mode,
                RecoveryFinished.Status.valueOf(r.status.name()), (Boolean) res.get("success"), r.reason, r.startedAt,
                r.finishedAt, (Long) res.get("totalMillis"), (Long) res.get("rtoMillis"), (Boolean) res.get("rtoMet"),
                r.plan.rpoDuration().toSeconds(), (Boolean) res.get("rpoMet"), (String) res.get("sourceId"),
                (String) res.get("backupId"), (Long) res.get("backupAgeSeconds"),
                steps.stream().map(s -> new RecoveryFinished.StepOutcome(s.index(), s.kind(), s.status(),
                        s.startedAt(), s.finishedAt(), s.durationMillis(), s.message())).toList());
    }

    /** What stakeholders receive: the run so far. */
    Map<String, Object> summary(String runId) {
        return db.tx(c -> {
            Run r = runs.find(c, runId).orElseThrow();
            List<RunRepository.StepRow> steps = runs.steps(c, runId);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("plan", Map.of("id", r.planId, "name", r.plan.name(), "rto", r.plan.rto(), "rpo", r.plan.rpo()));
            m.put("runId", r.id);
            m.put("mode", r.mode.name());
            m.put("status", r.status.name());
            m.put("outcome", r.status == RunStatus.COMPENSATING ? "failed" : "in progress");
            m.put("reason", r.reason);
            m.put("startedAt", r.startedAt.toString());
            Map<String, Object> res = result(r);
            long elapsed = Duration.between(r.startedAt, Instant.now()).toMillis();
            m.put("elapsedMillis", elapsed);
            m.put("rtoMillis", res.get("rtoMillis"));
            m.put("rtoMet", r.status == RunStatus.RUNNING && elapsed <= (Long) res.get("rtoMillis"));
            m.put("rpoMet", res.get("rpoMet"));
            Map<String, Object> backup = new LinkedHashMap<>();
            backup.put("backupId", res.get("backupId"));
            backup.put("sourceId", res.get("sourceId"));
            backup.put("ageSeconds", res.get("backupAgeSeconds"));
            m.put("backup", backup);
            m.put("steps", steps.stream().map(s -> {
                Map<String, Object> sm = new LinkedHashMap<>();
                sm.put("index", s.index());
                sm.put("kind", s.kind());
                sm.put("status", s.status());
                sm.put("durationMillis", s.durationMillis());
                sm.put("message", s.message());
                return sm;
            }).toList());
            return m;
        });
    }

    // ---------------------------------------------------------------- helpers

    Duration timeout(Run r, int step) {
        String t = r.plan.steps().get(step) instanceof PlanStep.RestartServices ? null : r.plan.steps().get(step).timeout();
        if (t == null) {
            t = r.plan.stepTimeout();
        }
        return t == null ? config.defaultStepTimeout() : Duration.parse(t);
    }

    /** The database a run's restore step restores into: the plan's, or a drill's scratch database. */
    private static String restoreDatabase(String runId, RunMode mode, PlanSpec plan, int restoreStep) {
        return mode == RunMode.DRILL ? SagaTable.scratchDatabase(runId, restoreStep)
                : ((PlanStep.RestoreDatabase) plan.steps().get(restoreStep)).database();
    }

    /**
     * The restore target of a step as resolved when the run started. Runs started before targets were kept
     * with the run resolve the step's target server now, and only a database its pattern allows.
     */
    private DatabaseTarget target(Connection c, Run r, int restoreStep) throws Exception {
        JsonNode kept = r.data.path("targets").get(String.valueOf(restoreStep));
        if (kept != null && !kept.isNull()) {
            return Db.json().convertValue(kept, DatabaseTarget.class);
        }
        PlanStep.RestoreDatabase s = (PlanStep.RestoreDatabase) r.plan.steps().get(restoreStep);
        TargetServer server = targetServers.find(c, s.target()).orElseThrow(() -> new IllegalStateException(
                "target server '" + s.target() + "' of step " + restoreStep + " is not registered"));
        String database = restoreDatabase(r.id, r.mode, r.plan, restoreStep);
        if (!server.allows(database)) {
            throw new IllegalStateException("database '" + database + "' does not match " + server.databasePattern()
                    + " of target server '" + server.name() + "'");
        }
        return server.target(database);
    }

    private static BackupLocation backup(Run r, int restoreStep) {
        JsonNode b = r.data.path("backups").get(String.valueOf(restoreStep));
        if (b == null || b.isNull()) {
            throw new IllegalStateException("step " + restoreStep + " has no prepared backup");
        }
        return Db.json().convertValue(b, BackupLocation.class);
    }

    /** Age of the backup at the start of the run: from its completion time when known, else as reported. */
    private static Long backupAge(Run r, JsonNode backup, Map<String, Object> res) {
        String completed = backup.path("completedAt").asText(null);
        if (completed != null) {
            return Math.max(0, Duration.between(Instant.parse(completed), r.startedAt).toSeconds());
        }
        return res.get("backupAgeSeconds") instanceof Number n ? n.longValue() : null;
    }

    private static List<String> webhooks(Run r, int step) {
        return ((PlanStep.NotifyStakeholders) r.plan.steps().get(step)).webhooks();
    }

    private static List<String> allWebhooks(Run r) {
        return r.plan.steps().stream().filter(s -> s instanceof PlanStep.NotifyStakeholders)
                .flatMap(s -> ((PlanStep.NotifyStakeholders) s).webhooks().stream()).distinct().toList();
    }

    private static Map<String, Object> outcome(boolean ok, String message, Map<String, Object> res) {
        Map<String, Object> m = new LinkedHashMap<>(res);
        m.put("ok", ok);
        m.put("message", message);
        return m;
    }

    private static String join(JsonNode array) {
        List<String> l = new ArrayList<>();
        array.forEach(n -> l.add(n.asText()));
        return String.join("; ", l);
    }
}
