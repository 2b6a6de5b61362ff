package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.DropDatabase;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.RemoveCluster;
import dev.lifeboat.contracts.recovery.RestoreCluster;
import dev.lifeboat.contracts.recovery.RestoreDatabase;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyDatabase;
import dev.lifeboat.kit.recovery.CommandDeadlines;
import dev.lifeboat.kit.recovery.CommandLedger;
import dev.lifeboat.kit.recovery.IssuedCommands;
import dev.lifeboat.kit.recovery.StepReplies;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.snapshot.config.RecoveryConfig;
import dev.lifeboat.snapshot.config.SnapshotConfig;
import dev.lifeboat.snapshot.domain.CommandFailure;
import dev.lifeboat.snapshot.messaging.StepReplyPublisher;
import io.agroal.api.AgroalDataSource;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * Carries out the recovery commands addressed to snapshot-worker (RestoreDatabase, VerifyDatabase, DropDatabase,
 * RestoreCluster, RemoveCluster) once per command id, each only as recovery-coordinator sent it and while it waits for
 * it ({@link IssuedCommands}), and answers each with a StepReply. The outcome of the work (including a failed restore) is
 * the reply; only the ledger or Kafka failing is thrown, so that the consumer retries the delivery.
 */
@ApplicationScoped
public class RecoveryCommandService {
    private static final Logger LOG = Logger.getLogger(RecoveryCommandService.class);
    /** In the ledger's reply of a command recorded as not run: a later delivery of it re-sends nothing. */
    private static final String NOT_RUN = "notRun";

    @Inject
    dev.lifeboat.kit.secrets.SecretPolicy secrets;
    @Inject
    AgroalDataSource dataSource;
    @Inject
    SnapshotConfig snapshots;
    @Inject
    RecoveryConfig config;
    @Inject
    RetryPolicy retry;
    @Inject
    DatabaseRestorer restorer;
    @Inject
    ClusterRestorer clusters;
    @Inject
    DatabaseChecks checks;
    @Inject
    StepReplyPublisher replies;
    @Inject
    RegisteredTargets targets;
    @Inject
    IssuedCommands issued;

    private volatile CommandLedger ledger;
    private volatile String participant;

    @WithSpan("RecoveryCommandService.handle")
    public void handle(RecoveryCommand delivered, EventType type) throws InterruptedException {
        // acted on only as recovery-coordinator sent it (IssuedCommands): its copy, never the delivered one
        IssuedCommands.Verdict verdict = issued.verify(delivered, type);
        RecoveryCommand command = switch (verdict) {
            case IssuedCommands.Awaited a -> a.command();
            case IssuedCommands.NotAwaited n when n.command() != null -> n.command();
            case IssuedCommands.NotAwaited n -> {
                // sent before the coordinator kept copies: nothing to compare it with, so nothing done nor recorded
                LOG.warnf("command %s not run: %s, and recovery-coordinator kept no copy of it", delivered.commandId(),
                        n.why());
                yield null;
            }
        };
        if (command == null) {
            return;
        }
        CommandLedger.Entry entry = ledger().claim(command.commandId(), command.runId(), type.name(), participant());
        switch (entry) {
            case CommandLedger.Finished f -> {
                // re-encoded: jsonb keeps the content, not the bytes, of the reply first sent
                StepReply stored = StepReplies.fromJson(f.replyJson());
                if (Boolean.TRUE.equals(stored.result().get(NOT_RUN))) {
                    LOG.infof("command %s was not run before (recovery-coordinator no longer waited for it); "
                            + "delivery skipped", command.commandId());
                } else {
                    // a late reply still counts: the coordinator undoes a restore its step gave up on
                    LOG.infof("command %s finished before; re-sending its reply", command.commandId());
                    replies.send(stored, StepReplies.toJson(stored));
                }
            }
            case CommandLedger.Busy b ->
                    LOG.infof("command %s runs in another instance; this delivery is skipped", command.commandId());
            case CommandLedger.Claim claim -> {
                try (claim) {
                    LOG.infof("command %s (%s, run %s step %d) started, attempt %d", command.commandId(), type,
                            command.runId(), command.step(), claim.attempt());
                    StepReply reply = CommandDeadlines.refusal(command, type, participant(), Instant.now())
                            .orElse(null);
                    if (verdict instanceof IssuedCommands.NotAwaited n) {
                        reply = notRun(command, type, claim, reply, n);
                        if (reply == null) {
                            return;
                        }
                    } else if (reply == null) {
                        reply = execute(command, type, claim);
                    } else if (claim.createdResource().isPresent()) {
                        // an attempt that died before the deadline may have left a partial restore behind
                        removeLeftover(command, claim);
                    }
                    String json = StepReplies.toJson(reply);
                    if (!claim.finish(json)) {
                        // another attempt took the command over while this one's ledger session was gone: it answers
                        return;
                    }
                    replies.send(reply, json);
                    LOG.infof("command %s %s: %s", command.commandId(), reply.outcome(), reply.message());
                }
            }
        }
    }

    /**
     * A command the coordinator sent once and waits for no more is not run. What an earlier attempt of it left behind
     * is removed, as the coordinator's copy of the command names it, and the refusal recorded and sent (the coordinator
     * records a late reply); otherwise it is recorded as not run and nothing is sent (null).
     */
    private StepReply notRun(RecoveryCommand command, EventType type, CommandLedger.Claim claim, StepReply refusal,
                             IssuedCommands.NotAwaited n) {
        if (claim.createdResource().isPresent()) {
            removeLeftover(command, claim);
            return refusal != null ? refusal : StepReplies.failed(command, type, participant(), "not run: " + n.why()
                    + "; what an earlier attempt created was removed", Map.of(), Instant.now());
        }
        LOG.infof("command %s not run: %s", command.commandId(), n.why());
        claim.finish(StepReplies.toJson(StepReplies.failed(command, type, participant(), "not run: " + n.why(),
                Map.of(NOT_RUN, true), Instant.now())));
        return null;
    }

    /** What an earlier attempt of a restore created, removed where the ledger says it did. */
    private void removeLeftover(RecoveryCommand command, CommandLedger.Claim claim) {
        if (command instanceof RestoreDatabase r) {
            discardPartial(r, claim);
        } else if (command instanceof RestoreCluster r) {
            removePartial(r, claim);
        }
    }

    /** Removes the cluster an earlier attempt created, only where the ledger says it did. */
    private void removePartial(RestoreCluster r, CommandLedger.Claim claim) {
        String created = claim.createdResource().orElseThrow();
        try {
            String data = clusters.paths(r.target()).data().toString();
            if (!created.equals(data)) {
                LOG.warnf("command %s: the partial cluster %s an earlier attempt created is left in place: the "
                        + "command names %s", r.commandId(), created, data);
                return;
            }
            clusters.remove(new RemoveCluster(r.commandId(), r.runId(), r.step(), r.target(), null));
        } catch (RuntimeException e) {
            LOG.warnf("command %s: the partial cluster %s an earlier attempt created is left in place: %s",
                    r.commandId(), created, e.getMessage());
        }
    }

    /**
     * Object store or ledger failures are retried by the platform's retry policy; past its window the command is
     * answered FAILED with the cause (never parked: the coordinator must hear back).
     */
    private StepReply execute(RecoveryCommand command, EventType type, CommandLedger.Claim claim)
            throws InterruptedException {
        Instant startedAt = Instant.now();
        try {
            return retry.call("command " + command.commandId() + " (" + type + ")", () -> {
                try {
                    // a database target is acted on only as registered in recovery-coordinator (RegisteredTargets)
                    return switch (command) {
                        case RestoreDatabase r -> restored(registered(r), type, claim, startedAt);
                        case VerifyDatabase v -> verified(registered(v), type, startedAt);
                        case DropDatabase d -> dropped(registered(d), type, startedAt);
                        case RestoreCluster r -> clusterRestored(r, type, claim, startedAt);
                        case RemoveCluster r -> clusterRemoved(r, type, startedAt);
                        default -> throw new CommandFailure("snapshot-worker does not handle " + type);
                    };
                } catch (CommandFailure e) {
                    return StepReplies.failed(command, type, participant(), e.getMessage(), Map.of(), startedAt);
                }
            });
        } catch (RetriesExhaustedException e) {
            return StepReplies.failed(command, type, participant(), e.getMessage(), Map.of(), startedAt);
        } catch (CommandLedger.LedgerUnavailableException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.errorf(e, "command %s failed unexpectedly", command.commandId());
            return StepReplies.failed(command, type, participant(), "unexpected error: " + e, Map.of(), startedAt);
        }
    }

    /** The restore into its registered target: the same values, read from recovery-coordinator's registry. */
    private RestoreDatabase registered(RestoreDatabase r) {
        return new RestoreDatabase(r.commandId(), r.runId(), r.step(), r.backup(),
                targets.check(r.target(), r.replaceExisting() ? "replace" : "restore into"), r.jobs(),
                r.replaceExisting(), r.deadline());
    }

    private DropDatabase registered(DropDatabase d) {
        return new DropDatabase(d.commandId(), d.runId(), d.step(), targets.check(d.target(), "drop"), d.deadline());
    }

    /** Checks on a restored cluster run over its private socket on this worker and name no server. */
    private VerifyDatabase registered(VerifyDatabase v) {
        return v.cluster() != null || v.target() == null ? v : new VerifyDatabase(v.commandId(), v.runId(), v.step(),
                targets.check(v.target(), "verify"), v.checks(), v.backup(), v.deadline(), null);
    }

    /** Drops what an earlier attempt created, on the registered target only; otherwise it stays, logged. */
    private void discardPartial(RestoreDatabase r, CommandLedger.Claim claim) {
        try {
            restorer.discardPartial(registered(r), claim);
        } catch (RuntimeException e) {
            LOG.warnf("command %s: the partial database %s an earlier attempt created is left in place: %s",
                    r.commandId(), claim.createdResource().orElse("?"), e.getMessage());
        }
    }

    private StepReply restored(RestoreDatabase r, EventType type, CommandLedger.Claim claim, Instant startedAt) {
        Map<String, Object> result = restorer.restore(r, claim);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tables = (List<Map<String, Object>>) result.get("tables");
        long rows = tables.stream().mapToLong(t -> (Long) t.get("rows")).sum();
        return StepReplies.completed(r, type, participant(), "restored backup " + r.backup().backupId() + " into "
                + r.target().describe() + ": " + tables.size() + " tables, " + rows + " rows in "
                + result.get("totalMillis") + " ms", result, startedAt);
    }

    private StepReply clusterRestored(RestoreCluster r, EventType type, CommandLedger.Claim claim,
                                      Instant startedAt) {
        Map<String, Object> result = onThisWorker(clusters.restore(r, claim));
        return StepReplies.completed(r, type, participant(), "restored backup " + r.backup().backupId() + " to "
                + (r.recoveryTarget() == null ? "latest" : r.recoveryTarget().describe()) + " into "
                + r.target().describe() + ", running on 127.0.0.1:" + r.target().port() + " (fetch "
                + result.get("fetchMillis") + " ms, WAL replay " + result.get("replayMillis") + " ms, start "
                + result.get("startMillis") + " ms)", result, startedAt);
    }

    private StepReply clusterRemoved(RemoveCluster r, EventType type, Instant startedAt) {
        ClusterRestorer.Removal removal = clusters.remove(r);
        String notes = removal.notes().isEmpty() ? "" : " (" + String.join("; ", removal.notes()) + ")";
        Map<String, Object> result = onThisWorker(removal.notes().isEmpty() ? Map.of("removed", removal.existed())
                : Map.of("removed", removal.existed(), "notes", removal.notes()));
        return StepReplies.completed(r, type, participant(), (removal.existed() ? "stopped and removed "
                + r.target().describe() : r.target().describe() + " did not exist on " + participant() + " (host "
                + ClusterRestorer.hostName() + ")") + notes, result, startedAt);
    }

    private StepReply verified(VerifyDatabase v, EventType type, Instant startedAt) {
        List<DatabaseChecks.Outcome> outcomes = checks.verify(v);
        String where = v.cluster() != null ? "the restored cluster " + v.cluster().describe() : v.target().describe();
        Map<String, Object> result = Map.of("checks", outcomes.stream().map(DatabaseChecks.Outcome::toMap).toList());
        List<DatabaseChecks.Outcome> failed = outcomes.stream().filter(o -> !o.passed()).toList();
        if (failed.isEmpty()) {
            return StepReplies.completed(v, type, participant(), "all " + outcomes.size() + " checks passed on "
                    + where, result, startedAt);
        }
        return StepReplies.failed(v, type, participant(), failed.size() + " of " + outcomes.size()
                + " checks failed on " + where + ": " + failed.stream()
                .map(o -> o.name() + " (" + o.detail() + ")").collect(Collectors.joining("; ")), result, startedAt);
    }

    private StepReply dropped(DropDatabase d, EventType type, Instant startedAt) {
        String name = TargetServers.validName(d.target());
        String password = TargetServers.password(secrets, d.target());
        try (Connection c = TargetServers.connect(d.target(), config.maintenanceDatabase(), password,
                snapshots.connectTimeoutSeconds())) {
            boolean dropped = TargetServers.drop(c, name);
            // the role a restore made for the database (restore-owner=restore-role) goes with it
            TargetServers.dropOwner(c, name);
            return StepReplies.completed(d, type, participant(), dropped ? "dropped " + d.target().describe()
                    : d.target().describe() + " did not exist", Map.of("dropped", dropped), startedAt);
        } catch (SQLException e) {
            throw new CommandFailure("cannot drop " + d.target().describe() + ": " + e.getMessage(), e);
        }
    }

    private CommandLedger ledger() {
        if (ledger == null) {
            ledger = new CommandLedger(dataSource, "snapshot.recovery_command");
        }
        return ledger;
    }

    /**
     * {@code result} with the worker and host a cluster command ran on: a restored cluster runs on this host, and the
     * coordinator checks later commands on it against where it was restored.
     */
    private Map<String, Object> onThisWorker(Map<String, Object> result) {
        Map<String, Object> out = new LinkedHashMap<>(result);
        out.put("worker", participant());
        out.put("workerHost", ClusterRestorer.hostName());
        return out;
    }

    /** "snapshot-worker/<instance>", as the reply names its participant. */
    String participant() {
        if (participant == null) {
            participant = "snapshot-worker/" + snapshots.workerId().filter(s -> !s.isBlank()).orElseGet(() -> {
                try {
                    return InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid();
                } catch (IOException e) {
                    return "pid-" + ProcessHandle.current().pid();
                }
            });
        }
        return participant;
    }
}
