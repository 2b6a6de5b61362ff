package dev.lifeboat.recovery.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RecoveryFinished;
import dev.lifeboat.contracts.recovery.RecoveryStarted;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.recovery.config.CoordinatorConfig;
import dev.lifeboat.recovery.domain.ActionResult;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.domain.RunResult;
import dev.lifeboat.recovery.domain.RunStatus;
import dev.lifeboat.recovery.domain.RunSummary;
import dev.lifeboat.recovery.domain.SagaTable;
import dev.lifeboat.recovery.domain.SagaTable.Action;
import dev.lifeboat.recovery.domain.SagaTable.ActionSpec;
import dev.lifeboat.recovery.domain.TargetServer;
import dev.lifeboat.recovery.messaging.CommandSender;
import dev.lifeboat.recovery.messaging.RunEventPublisher;
import dev.lifeboat.recovery.repository.Db;
import dev.lifeboat.recovery.repository.PlanRepository;
import dev.lifeboat.recovery.repository.RunRepository;
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
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The recovery saga's transition mechanics. Every transition happens in one transaction holding the run's row lock:
 * the outcome of the pending command is recorded, the next action is chosen from the step table (SagaTable: what
 * each step kind sends, what its reply leaves in the run, what undoes it) and persisted as "pending" with its
 * deadline, and only after the commit is it sent or run. A reply whose commandId is not the run's pending one (a
 * duplicate, a late reply after a timeout, an unknown run) changes nothing, so no step runs twice: that check is in
 * {@link #complete}, where every outcome (reply, local action, timeout) arrives.
 */
@ApplicationScoped
public class SagaEngine {
    private static final Logger LOG = Logger.getLogger(SagaEngine.class);
    /** The action of the drop that undoes a restore whose success arrived after its step timed out. */
    private static final String LATE_DROP = "late-drop";
    /**
     * A late drop younger than this is most likely still being sent by the transition that decided it (a second
     * send is harmless: the participant answers a command id it has seen with its first reply).
     */
    private static final int LATE_DROP_GRACE_SECONDS = 5;

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
    private final ExecutorService localWork = Executors.newVirtualThreadPerTaskExecutor();
    /**
     * Commands whose send failed after their transition committed (the broker unreachable, or the channel not yet
     * open right after a start), by command id: {@link #resendUnsent} sends them again. A restart loses this, and
     * {@link #resume} sends every pending command again then. A late restore's drop is not pending and is not kept
     * here: its row in {@code late_drops} keeps it, restarts included, until Kafka took it or its deadline passed
     * (the participant refuses a command past its deadline; the database is then recorded as left in place).
     */
    private final Map<String, Send> unsent = new ConcurrentHashMap<>();

    public SagaEngine(Db db, RunRepository runs, PlanRepository plans, CommandSender sender, RunEventPublisher events,
                      LocalSteps local, CoordinatorConfig config, Tracer tracer, RestoreTargets targets) {
        this.db = db;
        this.runs = runs;
        this.plans = plans;
        this.sender = sender;
        this.events = events;
        this.local = local;
        this.config = config;
        this.tracer = tracer;
        this.targets = targets;
        if (!config.lateDrops().retention().isPositive() || config.lateDrops().purgeBatch() < 1) {
            throw new IllegalArgumentException("lifeboat.recovery.late-drops: retention must be positive and "
                    + "purge-batch at least 1, not " + config.lateDrops().retention() + " and "
                    + config.lateDrops().purgeBatch());
        }
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
                    server.target(RestoreTargets.database(r.id, mode, plan, step)))));
            Map<Integer, ClusterTarget> clusters = targets.clusters(c, plan, mode, r.id);
            if (!clusters.isEmpty()) {
                ObjectNode kept = r.data.putObject("clusters");
                clusters.forEach((step, cluster) -> kept.set(String.valueOf(step), Db.json().valueToTree(cluster)));
            }
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

    /**
     * A participant's reply, as it came on {@code service}'s own reply topic: the topic, which only that service may
     * write, says who answered; the instance the reply names is kept only when it is one of that service's.
     */
    public void onReply(StepReply reply, String service) {
        String participant = reply.participant() != null && reply.participant().startsWith(service + "/")
                ? reply.participant() : service;
        ObjectNode result = reply.result() == null ? Db.json().createObjectNode() : Db.json().valueToTree(reply.result());
        complete(reply.runId(), reply.commandId(), new ActionResult.Outcome(reply.completed(), reply.message(),
                new ActionResult.Reply(result)), "reply from " + participant, participant);
    }

    /**
     * The outcome of the run's pending command or local action. Ignored unless {@code commandId} is exactly what
     * the run waits for.
     */
    public void complete(String runId, String commandId, ActionResult.Outcome outcome, String cause) {
        complete(runId, commandId, outcome, cause, null);
    }

    /**
     * {@link #complete(String, String, ActionResult.Outcome, String)} of a reply that names its {@code participant}:
     * ignored too unless that is the service the command went to, and a completed reply that its action's check
     * refuses fails the action with the reason.
     */
    private void complete(String runId, String commandId, ActionResult.Outcome outcome, String cause,
                          String participant) {
        List<Effect> effects = new ArrayList<>();
        db.tx(c -> {
            Run r = runs.lock(c, runId).orElse(null);
            if (r == null || r.status.finished() || r.pending == null || !r.pending.commandId().equals(commandId)) {
                // a timeout of a command already completed (two timers found it due: another instance's, or the
                // next tick's) is no reply: taken for one, it would use up the participant's late reply that follows
                if (r != null && !(outcome.result() instanceof ActionResult.TimedOut)
                        && lateReply(c, r, commandId, outcome, cause, participant, effects)) {
                    return null;
                }
                LOG.debugf("ignored %s for %s: run %s", cause, commandId, r == null ? "unknown"
                        : r.status.finished() ? "finished" : "waits for " + (r.pending == null ? "nothing"
                        : r.pending.commandId()));
                return null;
            }
            Action a = new Action(r.pending.step(), r.pending.action(), r.phase == Run.Phase.CLEANUP);
            ActionSpec spec = SagaTable.spec(r.plan.steps(), a);
            if (participant != null && !spec.isLocal() && !spec.answeredBy(participant)) {
                // a mistake (or a forgery that does not even name the right service): the real reply still comes
                LOG.warnf("run %s: ignored a reply to %s from %s: the command went to %s", r.id, commandId,
                        participant, SagaTable.participantOf(spec.command()));
                return null;
            }
            RunStatus before = r.status;
            boolean ok = outcome.ok();
            String message = outcome.message();
            ActionResult res = outcome.result();
            if (ok && participant != null && res instanceof ActionResult.Reply reply) {
                Optional<String> refused = spec.check().problem(r, a.step(), reply.fields());
                if (refused.isPresent()) {
                    ok = false;
                    message = "reply refused: " + refused.get();
                    LOG.warnf("run %s: %s from %s refused: %s", r.id, commandId, participant, refused.get());
                }
            }
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
                        r.data.withArrayProperty("cleanupProblems").add(compensation(r, a.step()).what()
                                + " of step " + a.step() + " failed: " + message);
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
     * A reply ({@code participant} set) from another service than the command went to is ignored, as in time.
     * Returns whether the reply was one of these.
     */
    private boolean lateReply(Connection c, Run r, String commandId, ActionResult.Outcome outcome, String cause,
                              String participant, List<Effect> effects) throws Exception {
        boolean ok = outcome.ok();
        String message = outcome.message();
        String ownDrop = "^" + java.util.regex.Pattern.quote(r.id) + ":(\\d{1,4}):" + LATE_DROP + "$";
        if (commandId.matches(ownDrop)) {
            int step = Integer.parseInt(commandId.replaceAll(ownDrop, "$1"));
            SagaTable.Compensation undo = step < r.plan.steps().size() ? compensation(r, step) : null;
            if (participant != null && (undo == null || !undo.action().answeredBy(participant))) {
                LOG.warnf("run %s: ignored a reply to late drop %s from %s: the drop went to %s", r.id, commandId,
                        participant, undo == null ? "no one" : SagaTable.participantOf(undo.action().command()));
                return true;
            }
            if (!runs.lateDropReplied(c, r.id, commandId)) {
                LOG.infof("run %s: reply to late drop %s ignored: no such drop (never decided, or purged %s after "
                        + "it settled), or answered before", r.id, commandId, retention());
                return true;
            }
            runs.stepOutcome(c, r.id, step, null, null, null, "lateReply",
                    outcome(ok, message, new ActionResult.Reply(Db.json().createObjectNode())));
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
        ActionSpec timedOut = SagaTable.spec(r.plan.steps(), new Action(step, action, false));
        if (participant != null && !timedOut.isLocal() && !timedOut.answeredBy(participant)) {
            LOG.warnf("run %s: ignored a late reply to %s from %s: the command went to %s", r.id, commandId,
                    participant, SagaTable.participantOf(timedOut.command()));
            return true;
        }
        // what the step's compensation undoes is what its creating action left behind
        SagaTable.Compensation undo = compensation(r, step);
        if (!ok || undo == null || !undo.from().equals(action)) {
            runs.transition(c, r.id, step, action, commandId, r.status, r.status, "late reply for step " + step
                    + " after timeout (" + cause + "): " + (ok ? "completed" : "failed") + ", nothing to undo");
            return true;
        }
        String where = targets.describe(c, r, step);
        String note = "late reply for step " + step + " after timeout (" + cause + "): ";
        if (r.mode == RunMode.RECOVERY && r.replaceExisting()) {
            runs.stepOutcome(c, r.id, step, null, null, null, "target", new ActionResult.TargetState(
                    where, "restored after the step timed out; it replaced the existing database, so it "
                    + "is left in place, marked failed"));
            runs.transition(c, r.id, step, action, commandId, r.status, r.status, note + "restored database "
                    + where + " left in place (it replaced the existing one), marked failed");
            return true;
        }
        String dropId = RecoveryCommand.commandId(r.id, step, LATE_DROP);
        Instant deadline = Instant.now().plus(timeout(r, step));
        Run.Pending drop = new Run.Pending(dropId, undo.action().command().name(), step, undo.action().name(),
                Db.toJson(undo.action().factory().create(commandContext(c, r, step, dropId, deadline))));
        runs.stepOutcome(c, r.id, step, null, null, null, "target", new ActionResult.TargetState(where,
                "restored after the step timed out: " + undo.what() + " as compensation"));
        runs.transition(c, r.id, step, action, commandId, r.status, r.status, note + "compensated, "
                + undo.action().command().name() + " of " + where + " sent");
        LOG.warnf("run %s: step %d restored %s after it had timed out; undoing it (%s)", r.id, step, where,
                undo.what());
        runs.addLateDrop(c, r.id, where, r.traceparent, drop, deadline);
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
            complete(id, r.pending.commandId(), new ActionResult.Outcome(false, "step " + r.pending.step() + " ("
                    + step.kind() + ") timed out after " + timeout(r, r.pending.step()) + " waiting for "
                    + r.pending.action(), new ActionResult.TimedOut()), "timeout");
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
        ActionSpec spec = SagaTable.spec(r.plan.steps(), a);
        r.deadline = Instant.now().plus(timeout(r, a.step()));
        RecoveryCommand command = spec.isLocal() ? null
                : spec.factory().create(commandContext(c, r, a.step(), commandId, r.deadline));
        r.pending = new Run.Pending(commandId, spec.isLocal() ? null : spec.command().name(), a.step(), a.action(),
                command == null ? null : Db.toJson(command));
        if (r.phase == Run.Phase.FORWARD) {
            runs.stepStarted(c, r.id, a.step(), Instant.now());
        }
        runs.save(c, r, null);
        runs.transition(c, r.id, a.step(), a.action(), commandId, r.status, r.status,
                (spec.isLocal() ? "coordinator action " : "command " + spec.command().ceType() + " ")
                        + "sent, deadline " + r.deadline);
        return pendingEffect(r);
    }

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

    private void forwardSucceeded(Connection c, Run r, Action a, String message, ActionResult res, Instant now)
            throws Exception {
        if (res instanceof ActionResult.Reply reply) {
            SagaTable.spec(r.plan.steps(), a).onCompleted().completed(r, a.step(), reply.fields());
        }
        List<Action> forward = SagaTable.forward(r.plan.steps(), r.mode);
        boolean lastOfStep = r.actionIndex + 1 >= forward.size() || forward.get(r.actionIndex + 1).step() != a.step()
                || forward.get(r.actionIndex + 1).cleanup();
        runs.stepOutcome(c, r.id, a.step(), lastOfStep ? "SUCCEEDED" : null, lastOfStep ? now : null,
                message, a.action(), res);
    }

    private void fail(Connection c, Run r, Action a, String message, ActionResult res, Instant now)
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
            // a recovery never undoes what it restored: each such step records what it keeps instead
            for (int i = 0; i <= a.step(); i++) {
                SagaTable.Compensation undo = compensation(r, i);
                if (undo != null && undo.recovery() != null) {
                    runs.stepOutcome(c, r.id, i, null, null, null, "target", undo.recovery().kept(
                            commandContext(c, r, i, null, null), r.reason));
                }
            }
        }
    }

    private void compensated(Connection c, Run r, Action a, boolean ok, String message, ActionResult res,
                             Instant now) throws Exception {
        SagaTable.Compensation undo = compensation(r, a.step());
        if (undo != null && undo.action().name().equals(a.action())) {
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
        runs.save(c, r, RunResult.of(r));
        runs.transition(c, r.id, null, null, null, before, status, r.reason == null ? "run finished" : r.reason);
        return new Emit(r.id);
    }

    // ---------------------------------------------------------------- effects

    private void perform(List<Effect> effects) {
        for (Effect e : effects) {
            try {
                switch (e) {
                    case Send s -> send(s);
                    case RunLocal l -> localWork.submit(() -> runLocal(l));
                    case Emit m -> emit(m.runId());
                    case null -> {
                    }
                }
            } catch (RuntimeException ex) {
                // the event relay retries events
                LOG.warnf("after-commit effect %s failed: %s", e, ex.toString());
            }
        }
    }

    /** Sends a command; one that cannot be sent now is sent again by {@link #resendUnsent}. Whether it was sent. */
    private boolean send(Send s) {
        String commandId = s.pending().commandId();
        boolean lateDrop = lateDrop(commandId);
        try {
            sender.send(s.runId(), s.traceparent(), s.pending());
        } catch (RuntimeException e) {
            if (!lateDrop) {
                unsent.put(commandId, s);
            }
            LOG.warnf("run %s: command %s (%s) not sent, sent again on the next timer tick: %s", s.runId(),
                    commandId, s.pending().type(), e.toString());
            return false;
        }
        unsent.remove(commandId);
        if (lateDrop) {
            try {
                db.tx(c -> {
                    runs.lateDropSent(c, commandId);
                    return null;
                });
            } catch (RuntimeException e) {
                // sent again later: the participant answers a command id it has seen with its first reply
                LOG.warnf("run %s: late drop %s sent but not marked so, sent again: %s", s.runId(), commandId,
                        e.toString());
            }
        }
        return true;
    }

    private static boolean lateDrop(String commandId) {
        return commandId.endsWith(":" + LATE_DROP);
    }

    /**
     * Sends again the commands whose send failed: a pending one while it is still its run's pending command and its
     * deadline has not passed (the run neither moved on, nor timed out, nor finished; it goes with the run's current
     * payload), then every late restore's drop Kafka has not taken (kept in {@code late_drops}, so also those a
     * stopped coordinator decided) while its deadline is ahead; one whose deadline passed unsent is not sent, and its
     * run records the restored database as left in place. Stops at the first send that fails again (the broker is
     * still away: each send waits for it), so the timer's other checks are not held up.
     */
    public void resendUnsent() {
        for (Send s : List.copyOf(unsent.values())) {
            String commandId = s.pending().commandId();
            Send now;
            try {
                now = current(s);
            } catch (RuntimeException e) {
                LOG.warnf("run %s: cannot read it to send command %s again, next tick retries: %s", s.runId(),
                        commandId, e.toString());
                return;
            }
            if (now == null) {
                unsent.remove(commandId);
                continue;
            }
            if (!send(now)) {
                return;
            }
            LOG.infof("run %s: command %s sent after an earlier send failed", s.runId(), commandId);
        }
        List<RunRepository.LateDrop> drops;
        try {
            drops = db.tx(c -> {
                for (RunRepository.LateDrop d : runs.expireLateDrops(c)) {
                    lateDropExpired(c, d);
                }
                return runs.unsentLateDrops(c, LATE_DROP_GRACE_SECONDS, 100);
            });
        } catch (RuntimeException e) {
            LOG.warnf("cannot read the late drops not sent yet, next tick retries: %s", e.toString());
            return;
        }
        for (RunRepository.LateDrop d : drops) {
            if (!send(new Send(d.runId(), d.traceparent(), d.pending()))) {
                return;
            }
            LOG.infof("run %s: late drop %s sent after it was not sent when decided", d.runId(),
                    d.pending().commandId());
        }
    }

    /**
     * Deletes one batch (at most {@code late-drops.purge-batch}) of the late drops settled more than
     * {@code late-drops.retention} ago, so {@code late_drops} does not grow for ever, and returns how many. A drop is
     * settled once its reply was recorded, once it expired unsent, or, sent and never answered, at its deadline; one
     * still waiting to be sent is kept. The run keeps everything it recorded; a reply that arrives for a purged drop
     * finds no row, so {@link #lateReply} ignores it (and logs it) like one for a drop never decided: it adds nothing.
     */
    public int purgeLateDrops() {
        CoordinatorConfig.LateDrops keep = config.lateDrops();
        List<RunRepository.PurgedLateDrop> purged = db.tx(c -> runs.purgeLateDrops(c, keep.retention(),
                keep.purgeBatch()));
        for (RunRepository.PurgedLateDrop d : purged) {
            if (d.unanswered()) {
                LOG.warnf("run %s: late drop %s was sent and never answered; purged %s after its deadline, so a reply "
                        + "to it is ignored from now on", d.runId(), d.commandId(), retention());
            }
        }
        if (!purged.isEmpty()) {
            LOG.infof("purged %d late drop(s) settled more than %s ago", purged.size(), retention());
        }
        return purged.size();
    }

    /** The late drops' retention as configured in days ({@code P30D}), not as Duration prints it ({@code PT720H}). */
    private String retention() {
        Duration d = config.lateDrops().retention();
        return d.toSeconds() % 86_400 == 0 && d.getNano() == 0 ? "P" + d.toDays() + "D" : d.toString();
    }

    /** Records on the run that late drop {@code d} was not sent before its deadline: its database stays. */
    private void lateDropExpired(Connection c, RunRepository.LateDrop d) throws Exception {
        RunStatus status = runs.find(c, d.runId()).map(r -> r.status).orElse(null);
        String what = "restored after the step timed out; its drop could not be sent before its deadline, so it is "
                + "left in place";
        runs.stepOutcome(c, d.runId(), d.step(), null, null, null, "target",
                new ActionResult.TargetState(d.target(), what));
        runs.transition(c, d.runId(), d.step(), SagaTable.DROP, d.pending().commandId(), status, status,
                "late compensation of step " + d.step() + " not sent before its deadline: " + d.target()
                        + " left in place");
        LOG.warnf("run %s: the drop of %s (restored after step %d timed out) was not sent before its deadline; the "
                + "database is left in place", d.runId(), d.target(), d.step());
    }

    /** What to send for a command whose send failed, as of now; null when it is not to be sent any more. */
    private Send current(Send s) {
        Run r = db.tx(c -> runs.find(c, s.runId()).orElse(null));
        if (r == null || r.status.finished() || r.pending == null
                || !s.pending().commandId().equals(r.pending.commandId())
                || r.deadline != null && r.deadline.isBefore(Instant.now())) {
            return null;
        }
        return new Send(r.id, r.traceparent, r.pending);
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


    private void runLocal(RunLocal l) {
        Run.Pending p = l.pending();
        ActionResult.Outcome outcome;
        try {
            Run r = db.tx(c -> runs.find(c, l.runId()).orElseThrow());
            ActionSpec spec = SagaTable.spec(r.plan.steps(), new Action(p.step(), p.action(), false));
            if (!spec.isLocal()) {
                throw new IllegalStateException("not a local action: " + p.action());
            }
            outcome = spec.local().run(new LocalContext(r, p.step()));
        } catch (RuntimeException e) {
            LOG.warnf(e, "local action %s failed", p.commandId());
            outcome = new ActionResult.Outcome(false, p.action() + " failed: " + e,
                    new ActionResult.Reply(Db.json().createObjectNode()));
        }
        complete(l.runId(), p.commandId(), outcome, "coordinator");
    }

    private RecoveryFinished finishedEvent(Run r) {
        RunResult res = RunResult.of(r);
        List<RunRepository.StepRow> steps = db.tx(c -> runs.steps(c, r.id));
        return new RecoveryFinished(r.id, r.planId, r.plan.name(), r.mode,
                RecoveryFinished.Status.valueOf(r.status.name()), res.success(), r.reason, r.startedAt,
                r.finishedAt, res.totalMillis(), res.rtoMillis(), res.rtoMet(),
                r.plan.rpoDuration().toSeconds(), res.rpoMet(), res.sourceId(),
                res.backupId(), res.backupAgeSeconds(),
                steps.stream().map(s -> new RecoveryFinished.StepOutcome(s.index(), s.kind(), s.status(),
                        s.startedAt(), s.finishedAt(), s.durationMillis(), s.message())).toList(),
                clusterRestore(r, steps));
    }

    /** The first RestoreCluster step's measures, when it restored a cluster. */
    private static RecoveryFinished.ClusterRestoreMeasure clusterRestore(Run r, List<RunRepository.StepRow> steps) {
        return steps.stream().filter(s -> r.plan.steps().get(s.index()) instanceof PlanStep.RestoreCluster)
                .filter(s -> s.details() != null)
                .map(s -> RunResult.clusterRestore(s.index(), s.details().get(SagaTable.RESTORE_CLUSTER)))
                .filter(java.util.Objects::nonNull).findFirst().orElse(null);
    }

    /** What stakeholders receive: the run so far. */
    RunSummary summary(String runId) {
        return db.tx(c -> {
            Run r = runs.find(c, runId).orElseThrow();
            List<RunRepository.StepRow> steps = runs.steps(c, runId);
            RunResult res = RunResult.of(r);
            long elapsed = Duration.between(r.startedAt, Instant.now()).toMillis();
            return new RunSummary(new RunSummary.Plan(r.planId, r.plan.name(), r.plan.rto(), r.plan.rpo()), r.id,
                    r.mode.name(), r.status.name(), r.status == RunStatus.COMPENSATING ? "failed" : "in progress",
                    r.reason, r.startedAt.toString(), elapsed, res.rtoMillis(),
                    r.status == RunStatus.RUNNING && elapsed <= res.rtoMillis(), res.rpoMet(),
                    new RunSummary.Backup(res.backupId(), res.sourceId(), res.backupAgeSeconds()),
                    steps.stream().map(s -> new RunSummary.Step(s.index(), s.kind(), s.status(), s.durationMillis(),
                            s.message())).toList());
        });
    }

    // ---------------------------------------------------------------- helpers

    /** What the table's command factories and recovery records may ask of a run, inside its transaction. */
    private record CommandContext(Connection c, Run run, int stepIndex, String commandId, Instant deadline,
                                  RestoreTargets targets) implements SagaTable.CommandContext {
        @Override
        public DatabaseTarget target(int restoreStep) throws Exception {
            return targets.kept(c, run, restoreStep);
        }

        @Override
        public ClusterTarget cluster(int clusterStep) {
            return targets.keptCluster(run, clusterStep);
        }
    }

    private CommandContext commandContext(Connection c, Run r, int step, String commandId, Instant deadline) {
        return new CommandContext(c, r, step, commandId, deadline, targets);
    }

    /** What the table's coordinator actions use: this coordinator's HTTP calls and the run's summary. */
    private final class LocalContext implements SagaTable.LocalContext {
        private final Run run;
        private final int step;

        LocalContext(Run run, int step) {
            this.run = run;
            this.step = step;
        }

        @Override
        public Run run() {
            return run;
        }

        @Override
        public int stepIndex() {
            return step;
        }

        @Override
        public ActionResult.Outcome restart(PlanStep.RestartServices s) {
            return local.restart(s);
        }

        @Override
        public ActionResult.Outcome notify(List<String> webhooks) {
            return local.notify(webhooks, summary(run.id));
        }
    }

    private static SagaTable.Compensation compensation(Run r, int step) {
        return SagaTable.kind(r.plan.steps().get(step)).compensation();
    }

    Duration timeout(Run r, int step) {
        String t = SagaTable.timeout(r.plan.steps().get(step));
        if (t == null) {
            t = r.plan.stepTimeout();
        }
        return t == null ? config.defaultStepTimeout() : Duration.parse(t);
    }

    /** The action's result with its outcome, as a compensation or cleanup records it on the step. */
    private static ObjectNode outcome(boolean ok, String message, ActionResult res) {
        ObjectNode m = Db.json().valueToTree(res);
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
