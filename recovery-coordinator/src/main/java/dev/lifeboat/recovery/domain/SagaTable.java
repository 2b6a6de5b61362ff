package dev.lifeboat.recovery.domain;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.RunMode;

import java.util.ArrayList;
import java.util.List;

/**
 * The saga as its step table: what each plan step sends, and what undoes it. Pure logic, no state.
 * <pre>
 * plan step          | actions (in order)                           | compensation (reverse order on failure)
 * RestoreDatabase    | prepare (PrepareRestore, storage-worker)     | drill: drop (DropDatabase of the scratch db)
 *                    | restore (RestoreDatabase, snapshot-worker)   | recovery: target left in place, marked failed
 * RestartServices    | restart (HTTP calls by the coordinator)      | none
 * VerifyIntegrity    | verify-backup (VerifyBackup) if checksums    | none
 *                    | verify-database (VerifyDatabase) if checks   |
 * NotifyStakeholders | notify (HTTP POST by the coordinator)        | none; a failed run notifies with the outcome
 * drill cleanup      | drop (DropDatabase) per scratch database     |
 * </pre>
 */
public final class SagaTable {
    public static final String PREPARE = "prepare";
    public static final String RESTORE = "restore";
    public static final String VERIFY_BACKUP = "verify-backup";
    public static final String VERIFY_DATABASE = "verify-database";
    public static final String DROP = "drop";
    public static final String RESTART = "restart";
    public static final String NOTIFY = "notify";
    public static final String NOTIFY_FAILURE = "notify-failure";

    private SagaTable() {
    }

    /** One thing the run waits for: a command to a participant (type set) or an action of the coordinator itself. */
    public record Action(int step, String action, boolean cleanup) {
        public EventType commandType() {
            return switch (action) {
                case PREPARE -> EventType.PREPARE_RESTORE;
                case RESTORE -> EventType.RESTORE_DATABASE;
                case VERIFY_BACKUP -> EventType.VERIFY_BACKUP;
                case VERIFY_DATABASE -> EventType.VERIFY_DATABASE;
                case DROP -> EventType.DROP_DATABASE;
                default -> null;
            };
        }

        public boolean local() {
            return commandType() == null;
        }
    }

    /** Every forward action of the plan, then (drill) the cleanup drops of the scratch databases. */
    public static List<Action> forward(List<PlanStep> steps, RunMode mode) {
        List<Action> actions = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            switch (steps.get(i)) {
                case PlanStep.RestoreDatabase r -> {
                    actions.add(new Action(i, PREPARE, false));
                    actions.add(new Action(i, RESTORE, false));
                }
                case PlanStep.RestartServices r -> actions.add(new Action(i, RESTART, false));
                case PlanStep.VerifyIntegrity v -> {
                    if (v.checksums()) {
                        actions.add(new Action(i, VERIFY_BACKUP, false));
                    }
                    if (v.checks() != null && !v.checks().isEmpty()) {
                        actions.add(new Action(i, VERIFY_DATABASE, false));
                    }
                }
                case PlanStep.NotifyStakeholders n -> actions.add(new Action(i, NOTIFY, false));
            }
        }
        if (mode == RunMode.DRILL) {
            for (int i = 0; i < steps.size(); i++) {
                if (steps.get(i) instanceof PlanStep.RestoreDatabase) {
                    actions.add(new Action(i, DROP, true));
                }
            }
        }
        return actions;
    }

    /**
     * What undoes the run after {@code failed} failed, in reverse order: a drill drops every scratch database a
     * restore may have created (the failing restore's too); then stakeholders hear the outcome when the plan
     * names any.
     */
    public static List<Action> compensations(List<PlanStep> steps, RunMode mode, Action failed) {
        List<Action> actions = new ArrayList<>();
        if (mode == RunMode.DRILL) {
            for (int i = failed.step(); i >= 0; i--) {
                boolean restoreAttempted = i < failed.step() || RESTORE.equals(failed.action());
                if (steps.get(i) instanceof PlanStep.RestoreDatabase && restoreAttempted) {
                    actions.add(new Action(i, DROP, false));
                }
            }
        }
        if (steps.stream().anyMatch(s -> s instanceof PlanStep.NotifyStakeholders)) {
            actions.add(new Action(failed.step(), NOTIFY_FAILURE, false));
        }
        return actions;
    }

    /** The nearest RestoreDatabase step before {@code step}, or -1. */
    public static int restoreBefore(List<PlanStep> steps, int step) {
        for (int i = step - 1; i >= 0; i--) {
            if (steps.get(i) instanceof PlanStep.RestoreDatabase) {
                return i;
            }
        }
        return -1;
    }

    /** A drill restores into {@code drill_<first 8 of runId>_<step>} on the plan's target server. */
    public static String scratchDatabase(String runId, int step) {
        String prefix = runId.replaceAll("[^A-Za-z0-9]", "").toLowerCase();
        return "drill_" + prefix.substring(0, Math.min(8, prefix.length())) + "_" + step;
    }
}
