package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.ClusterTarget;
import dev.lifeboat.contracts.recovery.DatabaseTarget;
import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.RemoveCluster;
import dev.lifeboat.contracts.recovery.RestoreCluster;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.contracts.recovery.SqlCheck;
import dev.lifeboat.contracts.recovery.VerifyBackup;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.repository.snapshot.Layout;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The saga as its step table: for each plan step kind, its actions in order (each with its command, or run by the
 * coordinator itself, and what its reply leaves in the run), what undoes it, and how long it may take. The engine
 * only walks this table; a new step kind is one declaration here (and its participant).
 * <pre>
 * plan step          | actions (in order)                           | compensation (reverse order on failure)
 * RestoreDatabase    | prepare (PrepareRestore, storage-worker)     | drill: drop (DropDatabase of the scratch db),
 *                    |   reply: the backup to restore, its age      |   also its cleanup after a successful drill
 *                    |   (refused unless of the step's source)      |
 *                    | restore (RestoreDatabase, snapshot-worker)   | recovery: target left in place, marked failed
 * RestoreCluster     | prepare (PrepareRestore, storage-worker)     | drill: remove-cluster (RemoveCluster: stop the
 *                    |   reply: the base backup to restore          |   cluster, remove its data directory), also its
 *                    | restore-cluster (RestoreCluster,             |   cleanup after a successful drill (refused
 *                    |   snapshot-worker: base backup + WAL replay  |   when another worker than the restorer
 *                    |   to the recovery target, promoted)          |   found nothing to remove)
 *                    |   reply: the worker and host it runs on      | recovery: cluster left running, marked failed
 * RestartServices    | restart (HTTP calls by the coordinator)      | none
 * VerifyIntegrity    | verify-backup (VerifyBackup) if checksums    | none
 *                    |   of the backup the restore before it read   |
 *                    | verify-database (VerifyDatabase) if checks:  |
 *                    |   on the restored database, or on the        |
 *                    |   restored cluster (each check's database)   |
 * NotifyStakeholders | notify (HTTP POST by the coordinator)        | none; a failed run notifies with the outcome
 * </pre>
 * A reply is taken only from the service its command went to ({@link #participantOf}), and a reply with a check
 * ({@link ActionSpec#check}) that fails it fails its action.
 */
public final class SagaTable {
    public static final String PREPARE = "prepare";
    public static final String RESTORE = "restore";
    public static final String VERIFY_BACKUP = "verify-backup";
    public static final String VERIFY_DATABASE = "verify-database";
    public static final String DROP = "drop";
    public static final String RESTORE_CLUSTER = "restore-cluster";
    public static final String REMOVE_CLUSTER = "remove-cluster";
    public static final String RESTART = "restart";
    public static final String NOTIFY = "notify";
    public static final String NOTIFY_FAILURE = "notify-failure";

    private SagaTable() {
    }

    // ---------------------------------------------------------------- the table

    static final ActionSpec PREPARE_RESTORE = ActionSpec.command(PREPARE, EventType.PREPARE_RESTORE, ctx -> {
        PlanStep.RestoreDatabase s = ctx.step(PlanStep.RestoreDatabase.class);
        Run r = ctx.run();
        // a drill proves the RPO can be met, so it asks for a backup young enough; a recovery restores the newest
        // there is and reports whether it met the RPO
        Long maxAge = s.latest() && r.mode == RunMode.DRILL ? r.plan.rpoDuration().toSeconds() : null;
        return new PrepareRestore(ctx.commandId(), r.id, ctx.stepIndex(), s.sourceId(), s.latest() ? null : s.backup(),
                maxAge == null ? null : Math.max(1, maxAge), ctx.deadline());
    }).checkedBy(SagaTable::preparedProblem).onCompleted(SagaTable::prepared);

    static final ActionSpec RESTORE_DATABASE = ActionSpec.command(RESTORE, EventType.RESTORE_DATABASE, ctx -> {
        PlanStep.RestoreDatabase s = ctx.step(PlanStep.RestoreDatabase.class);
        Run r = ctx.run();
        return new RestoreDatabase(ctx.commandId(), r.id, ctx.stepIndex(), r.backup(ctx.stepIndex()),
                ctx.target(ctx.stepIndex()), s.jobs(), r.mode == RunMode.RECOVERY && r.replaceExisting(),
                ctx.deadline());
    });

    static final ActionSpec DROP_SCRATCH = ActionSpec.command(DROP, EventType.DROP_DATABASE, ctx ->
            new DropDatabase(ctx.commandId(), ctx.run().id, ctx.stepIndex(), ctx.target(ctx.stepIndex()),
                    ctx.deadline()));

    static final ActionSpec PREPARE_CLUSTER_RESTORE = ActionSpec.command(PREPARE, EventType.PREPARE_RESTORE, ctx -> {
        PlanStep.RestoreCluster s = ctx.step(PlanStep.RestoreCluster.class);
        Run r = ctx.run();
        // the base backup: consistent by the recovery target (so replay can reach it), the newest such; a drill
        // replaying to the latest point asks for one within the RPO
        RecoveryTarget target = recoveryTarget(r, s);
        Long maxAge = s.latest() && r.mode == RunMode.DRILL && target.kind() == RecoveryTarget.Kind.LATEST
                ? r.plan.rpoDuration().toSeconds() : null;
        return new PrepareRestore(ctx.commandId(), r.id, ctx.stepIndex(), s.sourceId(), s.latest() ? null : s.backup(),
                maxAge == null ? null : Math.max(1, maxAge), ctx.deadline(), target);
    }).checkedBy(SagaTable::preparedProblem).onCompleted(SagaTable::prepared);

    static final ActionSpec RESTORE_CLUSTER_ACTION = ActionSpec.command(RESTORE_CLUSTER, EventType.RESTORE_CLUSTER,
            ctx -> new RestoreCluster(ctx.commandId(), ctx.run().id, ctx.stepIndex(),
                    ctx.run().backup(ctx.stepIndex()), ctx.cluster(ctx.stepIndex()),
                    recoveryTarget(ctx.run(), ctx.step(PlanStep.RestoreCluster.class)), ctx.deadline()))
            .onCompleted(SagaTable::clusterRestored);

    /**
     * Where the cluster of a step runs: the snapshot-worker that restored it (its reply's {@code worker} and {@code
     * workerHost}), its data directory and port. Later commands on it go wherever the run's commands go, which is
     * another instance once the commands' partition has moved (a deploy, a scale-out, the worker gone).
     */
    private static void clusterRestored(Run r, int step, ObjectNode result) {
        if (result.hasNonNull("worker")) {
            ObjectNode holder = r.data.withObjectProperty("clusterHolders").putObject(String.valueOf(step));
            for (String field : List.of("worker", "workerHost", "dataDirectory", "port")) {
                if (result.hasNonNull(field)) {
                    holder.set(field, result.get(field));
                }
            }
        }
    }

    /**
     * A removal answered by another snapshot-worker than the one that restored the cluster, which found nothing to
     * remove, removed nothing: the cluster may still run on the restoring worker's host. The removal fails with where
     * it is and what to do, instead of passing for done.
     */
    static Optional<String> removalProblem(Run r, int step, ObjectNode result) {
        JsonNode holder = r.data.path("clusterHolders").path(String.valueOf(step));
        String restoredBy = holder.path("worker").asText(null);
        String answeredBy = result.path("worker").asText(null);
        String restoredOn = holder.path("workerHost").asText("unknown");
        if (result.path("removed").asBoolean(true) || restoredBy == null || answeredBy == null
                || restoredBy.equals(answeredBy)
                || !"unknown".equals(restoredOn) && restoredOn.equals(result.path("workerHost").asText(null))) {
            // the same worker, or a restarted one on the same host, found nothing: the cluster is gone
            return Optional.empty();
        }
        String dir = holder.path("dataDirectory").asText("its data directory");
        return Optional.of("the cluster of step " + step + " was restored by " + restoredBy + " on host "
                + holder.path("workerHost").asText("unknown") + ", but the removal reached " + answeredBy + " (host "
                + result.path("workerHost").asText("unknown") + "), which has no such cluster: the run's commands "
                + "went to another snapshot-worker since. The cluster may still run there on port "
                + holder.path("port").asText("?") + ": on that host stop it (pg_ctl stop -D " + dir
                + " -m immediate) and remove " + dir + " and " + dir + ".restore");
    }

    /**
     * A drill with {@code drillAgo} replays to its start minus that; otherwise the step's target. Whole milliseconds:
     * PrepareRestore and RestoreCluster must name the same instant whether the run was just created or read back.
     */
    public static RecoveryTarget recoveryTarget(Run r, PlanStep.RestoreCluster s) {
        if (r.mode == RunMode.DRILL && s.drillAgo() != null) {
            return RecoveryTarget.time(r.startedAt.minus(java.time.Duration.parse(s.drillAgo()))
                    .truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        }
        return s.recoveryTarget() == null ? RecoveryTarget.latest() : s.recoveryTarget();
    }

    static final ActionSpec REMOVE_CLUSTER_ACTION = ActionSpec.command(REMOVE_CLUSTER, EventType.REMOVE_CLUSTER,
            ctx -> new RemoveCluster(ctx.commandId(), ctx.run().id, ctx.stepIndex(), ctx.cluster(ctx.stepIndex()),
                    ctx.deadline())).checkedBy(SagaTable::removalProblem);

    static final ActionSpec VERIFY_BACKUP_HASHES = ActionSpec.command(VERIFY_BACKUP, EventType.VERIFY_BACKUP, ctx ->
            new VerifyBackup(ctx.commandId(), ctx.run().id, ctx.stepIndex(),
                    ctx.run().backup(restoreBefore(ctx.run().plan.steps(), ctx.stepIndex())), ctx.deadline()));

    static final ActionSpec VERIFY_RESTORED_DATABASE = ActionSpec.command(VERIFY_DATABASE, EventType.VERIFY_DATABASE,
            ctx -> {
                int restore = restoreBefore(ctx.run().plan.steps(), ctx.stepIndex());
                List<SqlCheck> checks = ctx.step(PlanStep.VerifyIntegrity.class).checks();
                if (ctx.run().plan.steps().get(restore) instanceof PlanStep.RestoreCluster) {
                    // each check in the database it names, on the restored cluster (no recorded fingerprints)
                    return VerifyDatabase.onCluster(ctx.commandId(), ctx.run().id, ctx.stepIndex(),
                            ctx.cluster(restore), checks, ctx.deadline());
                }
                // TABLE_MATCHES_SOURCE compares with what the restored backup recorded
                boolean compares = checks.stream().anyMatch(k -> k.kind() == SqlCheck.Kind.TABLE_MATCHES_SOURCE);
                return new VerifyDatabase(ctx.commandId(), ctx.run().id, ctx.stepIndex(), ctx.target(restore), checks,
                        compares ? ctx.run().backup(restore) : null, ctx.deadline());
            });

    static final ActionSpec RESTART_SERVICES = ActionSpec.local(RESTART,
            ctx -> ctx.restart(ctx.step(PlanStep.RestartServices.class)));

    static final ActionSpec NOTIFY_WEBHOOKS = ActionSpec.local(NOTIFY,
            ctx -> ctx.notify(ctx.step(PlanStep.NotifyStakeholders.class).webhooks()));

    /** After a failure, every webhook of the plan hears the outcome. */
    static final ActionSpec FAILURE_NOTICE = ActionSpec.local(NOTIFY_FAILURE, ctx -> ctx.notify(
            ctx.run().plan.steps().stream().filter(s -> s instanceof PlanStep.NotifyStakeholders)
                    .flatMap(s -> ((PlanStep.NotifyStakeholders) s).webhooks().stream()).distinct().toList()));

    static final StepKind RESTORE_KIND = StepKind.of(PlanStep.RestoreDatabase.class)
            .invokes(PREPARE_RESTORE, RESTORE_DATABASE)
            .compensatedBy(new Compensation(DROP_SCRATCH, RESTORE, "drop of scratch database",
                    (ctx, reason) -> new ActionResult.TargetState(ctx.target(ctx.stepIndex()).describe(),
                            "left in place, marked failed: " + reason)));

    static final StepKind CLUSTER_KIND = StepKind.of(PlanStep.RestoreCluster.class)
            .invokes(PREPARE_CLUSTER_RESTORE, RESTORE_CLUSTER_ACTION)
            .compensatedBy(new Compensation(REMOVE_CLUSTER_ACTION, RESTORE_CLUSTER, "removal of the restored cluster",
                    (ctx, reason) -> new ActionResult.TargetState(ctx.cluster(ctx.stepIndex()).describe(),
                            "left in place, marked failed: " + reason)));

    static final StepKind RESTART_KIND = StepKind.of(PlanStep.RestartServices.class)
            .invokes(RESTART_SERVICES)
            // its own timeout bounds each HTTP call; the step as a whole runs under the plan's step timeout
            .timeoutPerCall();

    static final StepKind VERIFY_KIND = StepKind.of(PlanStep.VerifyIntegrity.class)
            .invokes((PlanStep.VerifyIntegrity v) -> Stream.of(v.checksums() ? VERIFY_BACKUP_HASHES : null,
                    v.checks() != null && !v.checks().isEmpty() ? VERIFY_RESTORED_DATABASE : null)
                    .filter(Objects::nonNull).toList());

    static final StepKind NOTIFY_KIND = StepKind.of(PlanStep.NotifyStakeholders.class)
            .invokes(NOTIFY_WEBHOOKS)
            .noticeOnFailure(FAILURE_NOTICE);

    /** The declaration of a plan step's kind; the switch is exhaustive, so a new kind must be declared. */
    public static StepKind kind(PlanStep step) {
        return switch (step) {
            case PlanStep.RestoreDatabase r -> RESTORE_KIND;
            case PlanStep.RestoreCluster r -> CLUSTER_KIND;
            case PlanStep.RestartServices r -> RESTART_KIND;
            case PlanStep.VerifyIntegrity v -> VERIFY_KIND;
            case PlanStep.NotifyStakeholders n -> NOTIFY_KIND;
        };
    }

    /**
     * Why a completed PrepareRestore reply cannot be taken, or empty. What it names is what the next command restores
     * into this plan's target, so it must be a backup of the step's source (the one the step names, if it names one)
     * in that source's repository. Only storage-worker may write its reply topic; this is what the coordinator can
     * check of the reply itself, and snapshot-worker checks the location again before it reads anything.
     */
    static Optional<String> preparedProblem(Run r, int step, ObjectNode result) {
        String sourceId;
        String named;
        switch (r.plan.steps().get(step)) {
            case PlanStep.RestoreDatabase d -> {
                sourceId = d.sourceId();
                named = d.latest() ? null : d.backup();
            }
            case PlanStep.RestoreCluster c -> {
                sourceId = c.sourceId();
                named = c.latest() ? null : c.backup();
            }
            default -> {
                return Optional.of("step " + step + " restores nothing");
            }
        }
        JsonNode backup = result.get("backup");
        if (backup == null || !backup.isObject()) {
            return Optional.of("the reply names no backup");
        }
        String backupId = backup.path("backupId").asText(null);
        try {
            java.util.UUID.fromString(String.valueOf(backupId));
        } catch (IllegalArgumentException e) {
            return Optional.of("the reply names backup '" + backupId + "', which is not a backup id");
        }
        if (named != null && !named.equalsIgnoreCase(backupId)) {
            return Optional.of("the reply names backup " + backupId + ", not backup " + named + " the step restores");
        }
        String of = backup.path("sourceId").asText(null);
        if (!Objects.equals(sourceId, of)) {
            return Optional.of("the reply names backup " + backupId + " of source " + of + ", not of the step's "
                    + "source " + sourceId);
        }
        String repository = backup.path("repositoryPrefix").asText(null);
        if (!Layout.isRepositoryOf(repository, sourceId)) {
            return Optional.of("the reply places backup " + backupId + " in repository '" + repository
                    + "', which is not the repository of source " + sourceId + " (<prefix>/" + sourceId + ")");
        }
        return Optional.empty();
    }

    /** PrepareRestore's reply names the backup to restore: every later action of the run reads it from the run. */
    private static void prepared(Run r, int step, ObjectNode result) {
        JsonNode backup = result.get("backup");
        if (backup != null && backup.isNull()) {
            backup = null;
        }
        r.data.withObjectProperty("backups").set(String.valueOf(step), backup);
        if (!r.data.has("backupId") && backup != null) {
            r.data.put("backupId", backup.path("backupId").asText(null));
            r.data.put("sourceId", backup.path("sourceId").asText(null));
            Long age = backupAge(r, backup, result);
            if (age != null) {
                r.data.put("backupAgeSeconds", age);
            }
        }
    }

    /** Age of the backup at the start of the run: from its completion time when known, else as reported. */
    private static Long backupAge(Run r, JsonNode backup, ObjectNode result) {
        String completed = backup.path("completedAt").asText(null);
        if (completed != null) {
            return Math.max(0, java.time.Duration.between(Instant.parse(completed), r.startedAt).toSeconds());
        }
        JsonNode reported = result.get("backupAgeSeconds");
        return reported != null && reported.isNumber() ? reported.longValue() : null;
    }

    // ---------------------------------------------------------------- the shape of a declaration

    /** One thing the run waits for, as persisted with the run: a command to a participant or a coordinator action. */
    public record Action(int step, String action, boolean cleanup) {
    }

    /** What a command factory may ask of the run, inside the transition's transaction. */
    public interface CommandContext {
        Run run();

        int stepIndex();

        String commandId();

        /** Past it participants do not start the command. */
        Instant deadline();

        /** The restore target of a step as resolved when the run started. */
        DatabaseTarget target(int restoreStep) throws Exception;

        /** The new cluster of a RestoreCluster step as resolved when the run started. */
        ClusterTarget cluster(int clusterStep) throws Exception;

        default <S extends PlanStep> S step(Class<S> type) {
            return type.cast(run().plan.steps().get(stepIndex()));
        }
    }

    /** What an action the coordinator runs itself may use: the run and the coordinator's own HTTP calls. */
    public interface LocalContext {
        Run run();

        int stepIndex();

        ActionResult.Outcome restart(PlanStep.RestartServices step);

        /** POSTs the run's summary to every webhook. */
        ActionResult.Outcome notify(List<String> webhooks);

        default <S extends PlanStep> S step(Class<S> type) {
            return type.cast(run().plan.steps().get(stepIndex()));
        }
    }

    @FunctionalInterface
    public interface CommandFactory {
        RecoveryCommand create(CommandContext ctx) throws Exception;
    }

    @FunctionalInterface
    public interface LocalAction {
        ActionResult.Outcome run(LocalContext ctx);
    }

    /** What a completed action leaves in the run's data for the actions after it. */
    @FunctionalInterface
    public interface ReplyHandler {
        void completed(Run run, int step, ObjectNode result);
    }

    /** Why a completed reply cannot be taken as the action's result (the action then fails with it), or empty. */
    @FunctionalInterface
    public interface ReplyCheck {
        Optional<String> problem(Run run, int step, ObjectNode result);
    }

    /**
     * The service that carries out {@code command}, as its replies name their participant ({@code
     * <service>/<instance>}).
     */
    public static String participantOf(EventType command) {
        return switch (command) {
            case PREPARE_RESTORE, VERIFY_BACKUP -> "storage-worker";
            case RESTORE_DATABASE, RESTORE_CLUSTER, VERIFY_DATABASE, DROP_DATABASE, REMOVE_CLUSTER -> "snapshot-worker";
            default -> throw new IllegalArgumentException(command + " is not a recovery command");
        };
    }

    /** What a recovery records on a step it does not undo. */
    @FunctionalInterface
    public interface Kept {
        ActionResult kept(CommandContext ctx, String reason) throws Exception;
    }

    /**
     * One action: a command sent to a participant ({@code command} set, built by {@code factory}) or an action the
     * coordinator runs itself ({@code local}); {@code onCompleted} handles its successful reply.
     */
    public record ActionSpec(String name, EventType command, CommandFactory factory, LocalAction local,
                             ReplyHandler onCompleted, ReplyCheck check) {
        private static final ReplyCheck ANY_REPLY = (r, s, res) -> Optional.empty();

        static ActionSpec command(String name, EventType type, CommandFactory factory) {
            return new ActionSpec(name, type, factory, null, (r, s, res) -> {
            }, ANY_REPLY);
        }

        static ActionSpec local(String name, LocalAction action) {
            return new ActionSpec(name, null, null, action, (r, s, res) -> {
            }, ANY_REPLY);
        }

        ActionSpec onCompleted(ReplyHandler handler) {
            return new ActionSpec(name, command, factory, local, handler, check);
        }

        ActionSpec checkedBy(ReplyCheck replyCheck) {
            return new ActionSpec(name, command, factory, local, onCompleted, replyCheck);
        }

        public boolean isLocal() {
            return local != null;
        }

        /** Whether {@code participant} (as a reply names it) is the service this action's command goes to. */
        public boolean answeredBy(String participant) {
            String service = participantOf(command);
            return participant != null && (participant.equals(service) || participant.startsWith(service + "/"));
        }
    }

    /**
     * How a drill undoes a step once its action {@code from} was attempted (and, a drill leaving nothing behind,
     * cleans it up after a successful run); a recovery never undoes it and records {@code recovery} on the step
     * instead. {@code what} names the undo in the run's problems.
     */
    public record Compensation(ActionSpec action, String from, String what, Kept recovery) {
    }

    /**
     * A plan step kind: its actions for a given step, what undoes it, whether its own {@code timeout} bounds the
     * whole step, and what a failed run sends when the plan has a step of this kind.
     */
    public record StepKind(Class<? extends PlanStep> type, Function<PlanStep, List<ActionSpec>> actions,
                           Compensation compensation, boolean stepTimeout, ActionSpec failureNotice) {
        static StepKind of(Class<? extends PlanStep> type) {
            return new StepKind(type, s -> List.of(), null, true, null);
        }

        StepKind invokes(ActionSpec... actions) {
            List<ActionSpec> list = List.of(actions);
            return new StepKind(type, s -> list, compensation, stepTimeout, failureNotice);
        }

        @SuppressWarnings("unchecked")
        <S extends PlanStep> StepKind invokes(Function<S, List<ActionSpec>> actions) {
            return new StepKind(type, s -> actions.apply((S) type.cast(s)), compensation, stepTimeout,
                    failureNotice);
        }

        StepKind compensatedBy(Compensation c) {
            return new StepKind(type, actions, c, stepTimeout, failureNotice);
        }

        StepKind timeoutPerCall() {
            return new StepKind(type, actions, compensation, false, failureNotice);
        }

        StepKind noticeOnFailure(ActionSpec notice) {
            return new StepKind(type, actions, compensation, stepTimeout, notice);
        }

        public List<ActionSpec> actionsOf(PlanStep step) {
            return actions.apply(step);
        }

        /** Every action this kind may run for {@code step}: forward, compensation, failure notice. */
        public Stream<ActionSpec> every(PlanStep step) {
            return Stream.of(actionsOf(step).stream(), Stream.ofNullable(compensation).map(Compensation::action),
                    Stream.ofNullable(failureNotice)).flatMap(s -> s);
        }
    }

    // ---------------------------------------------------------------- reading the table

    /** The declaration of a run's action (forward, cleanup or compensation). */
    public static ActionSpec spec(List<PlanStep> steps, Action a) {
        Optional<ActionSpec> notice = steps.stream().map(s -> kind(s).failureNotice()).filter(Objects::nonNull)
                .filter(n -> n.name().equals(a.action())).findFirst();
        if (notice.isPresent()) {
            return notice.get();
        }
        PlanStep step = steps.get(a.step());
        return kind(step).every(step).filter(s -> s.name().equals(a.action())).findFirst().orElseThrow(() ->
                new IllegalStateException("step " + a.step() + " (" + step.kind() + ") declares no action '"
                        + a.action() + "'"));
    }

    /** Every forward action of the plan, then (drill) the cleanups of what the run created. */
    public static List<Action> forward(List<PlanStep> steps, RunMode mode) {
        List<Action> actions = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            for (ActionSpec a : kind(steps.get(i)).actionsOf(steps.get(i))) {
                actions.add(new Action(i, a.name(), false));
            }
        }
        if (mode == RunMode.DRILL) {
            for (int i = 0; i < steps.size(); i++) {
                Compensation c = kind(steps.get(i)).compensation();
                if (c != null) {
                    actions.add(new Action(i, c.action().name(), true));
                }
            }
        }
        return actions;
    }

    /**
     * What undoes the run after {@code failed} failed, in reverse order: a drill undoes every step that may have
     * left something behind (the failing step too, once it attempted the action that creates it); then
     * stakeholders hear the outcome when the plan names any.
     */
    public static List<Action> compensations(List<PlanStep> steps, RunMode mode, Action failed) {
        List<Action> actions = new ArrayList<>();
        undo(steps, mode, failed).ifPresent(actions::add);
        if (mode == RunMode.DRILL) {
            for (int i = failed.step() - 1; i >= 0; i--) {
                Compensation c = kind(steps.get(i)).compensation();
                if (c != null) {
                    actions.add(new Action(i, c.action().name(), false));
                }
            }
        }
        steps.stream().map(s -> kind(s).failureNotice()).filter(Objects::nonNull).findFirst()
                .ifPresent(n -> actions.add(new Action(failed.step(), n.name(), false)));
        return actions;
    }

    /**
     * What undoes whatever {@code attempted} (a forward action, finished or not) may have left behind: in a drill,
     * its step's compensation once the action is the one that creates something or comes after it; a recovery
     * keeps what it restored, so nothing.
     */
    public static Optional<Action> undo(List<PlanStep> steps, RunMode mode, Action attempted) {
        PlanStep step = steps.get(attempted.step());
        Compensation c = kind(step).compensation();
        return mode == RunMode.DRILL && c != null && attempted(step, c.from(), attempted.action())
                ? Optional.of(new Action(attempted.step(), c.action().name(), false)) : Optional.empty();
    }

    /** Whether the step's action {@code failedAction} is {@code from} or comes after it. */
    private static boolean attempted(PlanStep step, String from, String failedAction) {
        List<String> names = kind(step).actionsOf(step).stream().map(ActionSpec::name).toList();
        int at = names.indexOf(from);
        return at >= 0 && names.indexOf(failedAction) >= at;
    }

    /** The step's own timeout for the whole step, or null when the plan's default applies. */
    public static String timeout(PlanStep step) {
        return kind(step).stepTimeout() ? step.timeout() : null;
    }

    /** The nearest RestoreDatabase or RestoreCluster step before {@code step}, or -1. */
    public static int restoreBefore(List<PlanStep> steps, int step) {
        for (int i = step - 1; i >= 0; i--) {
            if (steps.get(i) instanceof PlanStep.RestoreDatabase || steps.get(i) instanceof PlanStep.RestoreCluster) {
                return i;
            }
        }
        return -1;
    }

    /** The cluster a run's RestoreCluster step creates: the plan's, or (drill) a scratch one named like a database. */
    public static String clusterName(String runId, RunMode mode, PlanStep.RestoreCluster step, int index) {
        return mode == RunMode.DRILL ? scratchDatabase(runId, index) : step.cluster();
    }

    /** A drill restores into {@code drill_<first 8 of runId>_<step>} on the plan's target server. */
    public static String scratchDatabase(String runId, int step) {
        String prefix = runId.replaceAll("[^A-Za-z0-9]", "").toLowerCase();
        return "drill_" + prefix.substring(0, Math.min(8, prefix.length())) + "_" + step;
    }
}
