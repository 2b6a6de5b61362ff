package dev.lifeboat.storage.service;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupVerified;
import dev.lifeboat.contracts.EventType;
import dev.lifeboat.contracts.recovery.PrepareRestore;
import dev.lifeboat.contracts.recovery.RecoveryCommand;
import dev.lifeboat.contracts.recovery.StepReply;
import dev.lifeboat.contracts.recovery.VerifyBackup;
import dev.lifeboat.kit.recovery.CommandDeadlines;
import dev.lifeboat.kit.recovery.CommandLedger;
import dev.lifeboat.kit.recovery.IssuedCommands;
import dev.lifeboat.kit.recovery.StepReplies;
import dev.lifeboat.kit.retry.RetriesExhaustedException;
import dev.lifeboat.kit.retry.RetryPolicy;
import dev.lifeboat.repository.snapshot.StoreUnreadableException;
import dev.lifeboat.storage.messaging.StepReplyPublisher;
import io.agroal.api.AgroalDataSource;
import io.opentelemetry.instrumentation.annotations.WithSpan;

/**
 * Carries out the recovery commands addressed to storage-worker (PrepareRestore, VerifyBackup) once per command id,
 * each only as recovery-coordinator sent it and while it waits for it ({@link IssuedCommands}), and answers each with
 * a StepReply. The object store or the database failing is retried with the worker's retry
 * settings, then answered FAILED with the cause; only the ledger or Kafka failing is thrown (the consumer retries
 * the delivery), since then no reply can be recorded or sent.
 */
@ApplicationScoped
public class RecoveryCommandService {
    private static final Logger LOG = Logger.getLogger(RecoveryCommandService.class);

    private final CommandLedger ledger;
    private final RestorePreparation preparation;
    private final FullVerificationService verification;
    private final StepReplyPublisher replies;
    private final RetryPolicy retry;
    private final IssuedCommands issued;
    private final String participant;

    public RecoveryCommandService(AgroalDataSource dataSource, RestorePreparation preparation,
                                  FullVerificationService verification, StepReplyPublisher replies,
                                  RetryPolicy retry, IssuedCommands issued) {
        this.ledger = new CommandLedger(dataSource, "storage.recovery_command");
        this.issued = issued;
        this.preparation = preparation;
        this.verification = verification;
        this.replies = replies;
        this.retry = retry;
        this.participant = "storage-worker/" + instance();
    }

    @WithSpan("RecoveryCommandService.handle")
    public void handle(RecoveryCommand delivered, EventType type) throws InterruptedException {
        // acted on only as recovery-coordinator sent it and while it waits for it (IssuedCommands); it creates
        // nothing, so a command it no longer waits for is not run, and a reply recorded before is not re-sent
        if (!(issued.verify(delivered, type) instanceof IssuedCommands.Awaited awaited)) {
            LOG.infof("command %s not run: recovery-coordinator no longer waits for it", delivered.commandId());
            return;
        }
        RecoveryCommand command = awaited.command();
        CommandLedger.Entry entry = ledger.claim(command.commandId(), command.runId(), type.name(), participant);
        switch (entry) {
            case CommandLedger.Finished f -> {
                LOG.infof("command %s finished before; re-sending its reply", command.commandId());
                StepReply stored = StepReplies.fromJson(f.replyJson());
                replies.send(stored, StepReplies.toJson(stored));
            }
            case CommandLedger.Busy b ->
                    LOG.infof("command %s runs in another instance; this delivery is skipped", command.commandId());
            case CommandLedger.Claim claim -> {
                try (claim) {
                    LOG.infof("command %s (%s, run %s step %d) started, attempt %d", command.commandId(), type,
                            command.runId(), command.step(), claim.attempt());
                    StepReply reply = CommandDeadlines.refusal(command, type, participant, Instant.now())
                            .orElse(null);
                    if (reply == null) {
                        reply = execute(command, type);
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

    private StepReply execute(RecoveryCommand command, EventType type) throws InterruptedException {
        Instant startedAt = Instant.now();
        try {
            return retry.call("command " + command.commandId() + " (" + type + ")", () -> switch (command) {
                case PrepareRestore p -> prepared(p, type, startedAt);
                case VerifyBackup v -> verified(v, type, startedAt);
                default -> StepReplies.failed(command, type, participant, "storage-worker does not handle " + type,
                        Map.of(), startedAt);
            });
        } catch (RetriesExhaustedException e) {
            return StepReplies.failed(command, type, participant, e.getMessage(), Map.of(), startedAt);
        } catch (RuntimeException e) {
            return StepReplies.failed(command, type, participant, type + " failed: " + e.getClass().getSimpleName()
                    + ": " + e.getMessage(), Map.of(), startedAt);
        }
    }

    private StepReply prepared(PrepareRestore p, EventType type, Instant startedAt) {
        return switch (preparation.prepare(p)) {
            case RestorePreparation.Chosen c -> StepReplies.completed(p, type, participant, "backup "
                    + c.backup().backupId() + " of source " + c.backup().sourceId() + " (" + c.backupAgeSeconds()
                    + " s old) is ready to restore", c.result(), startedAt);
            case RestorePreparation.Refused r -> StepReplies.failed(p, type, participant, r.reason(), Map.of(),
                    startedAt);
        };
    }

    private StepReply verified(VerifyBackup v, EventType type, Instant startedAt) {
        String backupId = v.backup() == null ? null : v.backup().backupId();
        Optional<BackupCompleted> backup = backupId == null ? Optional.empty() : verification.sealedBackup(backupId);
        if (backup.isEmpty()) {
            return StepReplies.failed(v, type, participant, "backup " + backupId + " is not a sealed, not deleted, "
                    + "chunked backup of this storage-worker", Map.of("ok", false, "chunks", 0,
                    "problems", List.of("unknown backup " + backupId)), startedAt);
        }
        FullVerificationService.Result report = verification.verify(backup.get());
        List<String> problems = report.problems().stream().map(p -> (p.file() == null ? "" : "file " + p.file()
                + ": ") + (p.chunkId() == null ? "" : "chunk " + p.chunkId() + ": ") + p.what()).toList();
        if (BackupVerified.UNREADABLE.equals(report.outcome())) {
            // retried like any outage; the reply after the last attempt says "unreadable now", never "corrupt"
            throw new StoreUnreadableException("backup " + backupId + " could not be read from the object store "
                    + "now, its integrity is unknown: " + String.join("; ", problems));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("ok", report.ok());
        result.put("chunks", report.chunksChecked());
        result.put("problems", problems);
        if (report.ok()) {
            return StepReplies.completed(v, type, participant, "backup " + backupId + " passed full verification: "
                    + report.chunksChecked() + " chunks, " + report.bytesChecked() + " bytes", result, startedAt);
        }
        return StepReplies.failed(v, type, participant, "backup " + backupId + " failed full verification: "
                + String.join("; ", problems), result, startedAt);
    }

    private static String instance() {
        try {
            return InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid();
        } catch (IOException e) {
            return "pid-" + ProcessHandle.current().pid();
        }
    }
}
