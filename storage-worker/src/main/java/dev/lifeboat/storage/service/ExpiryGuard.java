package dev.lifeboat.storage.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.lifeboat.contracts.BackupCompleted;
import dev.lifeboat.contracts.BackupsExpired;
import dev.lifeboat.contracts.EventCodec;
import dev.lifeboat.repository.snapshot.BackupType;
import dev.lifeboat.repository.snapshot.retention.Chains;
import dev.lifeboat.repository.snapshot.retention.GfsCalculator;
import dev.lifeboat.repository.snapshot.retention.Integrity;
import dev.lifeboat.repository.snapshot.retention.RetainedBackup;
import dev.lifeboat.repository.snapshot.retention.RetentionCounts;
import dev.lifeboat.repository.snapshot.retention.RetentionDecision;
import dev.lifeboat.storage.client.SchedulerClient;
import dev.lifeboat.storage.repository.RestorableBackupRepository;
import dev.lifeboat.storage.repository.SealedBackup;
import dev.lifeboat.storage.repository.SealedBackupRepository;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.WebApplicationException;
import org.eclipse.microprofile.rest.client.inject.RestClient;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Decides which backups of a BackupsExpired this worker may delete. Any principal that may write the lifecycle topic
 * could publish a BackupsExpired, and a forged BackupCompleted could have made the scheduler's own decision wrong,
 * so neither the event nor the scheduler's word is enough. A backup is deleted only when:
 * <ul>
 *   <li>the policy the event names exists in scheduler-service and belongs to the source the event names;</li>
 *   <li>this worker sealed the backup (verified it and emitted BackupCompleted) for that source and that policy;</li>
 *   <li>the policy's GFS retention, recomputed here over the backups this worker sealed for the source (its own
 *   record and its own verification verdicts, with the counts read from scheduler-service), does not keep it,
 *   neither for itself nor because a kept backup depends on it.</li>
 * </ul>
 * The recomputation uses the same calculator as the scheduler, over the same facts (completion time, type, chain and
 * parent as sealed), so a legitimate expiry passes. A failure to reach scheduler-service is thrown (transient: the
 * record is retried, then parked; a refusal of this worker's token parks it at once), never taken as permission.
 */
@ApplicationScoped
public class ExpiryGuard {
    /** Why a listed backup is not deleted; the metric's tag. */
    public enum Refusal { POLICY_UNKNOWN, POLICY_OF_OTHER_SOURCE, NOT_SEALED, SEALED_FOR_OTHER_SOURCE,
        SEALED_FOR_OTHER_POLICY, KEPT_BY_RETENTION }

    /** The verdict on one listed backup: {@code refusal} null means it may be deleted. */
    public record Verdict(Refusal refusal, String reason) {
        static final Verdict ALLOWED = new Verdict(null, null);

        public boolean allowed() {
            return refusal == null;
        }
    }

    private final SealedBackupRepository sealed;
    private final RestorableBackupRepository verifications;
    private final SchedulerClient scheduler;

    public ExpiryGuard(SealedBackupRepository sealed, RestorableBackupRepository verifications,
                       @RestClient SchedulerClient scheduler) {
        this.sealed = sealed;
        this.verifications = verifications;
        this.scheduler = scheduler;
    }

    /** One verdict per listed backup id, in the event's order. */
    @WithSpan("ExpiryGuard.check")
    public Map<String, Verdict> check(BackupsExpired expired) {
        Map<String, Verdict> verdicts = new LinkedHashMap<>();
        String policyId = expired.policyId();
        String sourceId = expired.sourceId();
        SchedulerClient.PolicyInfo policy = policyId == null || policyId.isBlank() ? null : policy(policyId);
        Verdict all = null;
        if (policy == null) {
            all = new Verdict(Refusal.POLICY_UNKNOWN, "policy '" + policyId
                    + "' is not registered in scheduler-service, so no retention can have expired it");
        } else if (sourceId == null || !sourceId.equals(policy.sourceId())) {
            all = new Verdict(Refusal.POLICY_OF_OTHER_SOURCE, "policy '" + policyId + "' belongs to source '"
                    + policy.sourceId() + "', not to source '" + sourceId + "' that the event names");
        }
        if (all != null) {
            for (String id : expired.backupIds()) {
                verdicts.put(id, all);
            }
            return verdicts;
        }
        Map<String, SealedBackupRepository.SourceSeal> ofSource = new HashMap<>();
        Map<String, BackupCompleted> completions = new HashMap<>();
        for (SealedBackupRepository.SourceSeal s : sealed.completedOfSource(sourceId)) {
            String id = s.seal().backupId().toString();
            ofSource.put(id, s);
            completions.put(id, completedOf(s.seal()));
        }
        Map<UUID, Integrity> integrity = verifications.integrityOf(ofSource.values().stream()
                .map(seal -> seal.seal().backupId()).toList());
        RetentionDecision decision = decide(policy, ofSource, completions, integrity);
        for (String id : expired.backupIds()) {
            verdicts.put(id, verdict(id, policyId, sourceId, decision, completions));
        }
        return verdicts;
    }

    private Verdict verdict(String id, String policyId, String sourceId, RetentionDecision decision,
                            Map<String, BackupCompleted> completions) {
        BackupCompleted completed = completions.get(id);
        if (completed == null) {
            return sealed.find(java.util.UUID.fromString(id))
                    .filter(s -> s.outcome() == SealedBackup.Outcome.COMPLETED)
                    .map(s -> new Verdict(Refusal.SEALED_FOR_OTHER_SOURCE, "backup " + id + " was sealed for source '"
                            + completedOf(s).sourceId() + "', not for source '" + sourceId + "'"))
                    .orElseGet(() -> new Verdict(Refusal.NOT_SEALED, "backup " + id
                            + " was never verified and sealed by this worker (no BackupCompleted of its own)"));
        }
        if (!policyId.equals(completed.policyId())) {
            return new Verdict(Refusal.SEALED_FOR_OTHER_POLICY, "backup " + id + " of source '" + sourceId
                    + "' was taken for " + (completed.policyId() == null ? "no policy (on demand)"
                    : "policy '" + completed.policyId() + "'") + ", not for policy '" + policyId + "'");
        }
        if (decision.kept(id)) {
            return new Verdict(Refusal.KEPT_BY_RETENTION, "policy '" + policyId + "' keeps backup " + id + " ("
                    + decision.keep().get(id).stream().map(Enum::name).map(String::toLowerCase)
                    .collect(Collectors.joining(", ")) + ") by the retention recomputed over the backups this "
                    + "worker sealed");
        }
        return Verdict.ALLOWED;
    }

    /**
     * The policy's keep set over the backups this worker sealed for it, chains linked across the whole source, each
     * with the verdict of its latest conclusive verification (as the scheduler has it from BackupVerified).
     */
    private static RetentionDecision decide(SchedulerClient.PolicyInfo policy,
                                            Map<String, SealedBackupRepository.SourceSeal> ofSource,
                                            Map<String, BackupCompleted> completions,
                                            Map<UUID, Integrity> integrity) {
        List<Chains.SourceBackup> history = completions.values().stream().map(c -> new Chains.SourceBackup(
                c.backupId(), c.completedAt(), BackupType.valueOf(c.type().name()),
                c.repository() != null ? c.repository().chainId() : null,
                c.repository() != null ? c.repository().parentBackupId() : null,
                integrity.getOrDefault(UUID.fromString(c.backupId()), Integrity.UNVERIFIED))).toList();
        Set<String> candidates = completions.values().stream()
                .filter(c -> policy.id().equals(c.policyId()) && !ofSource.get(c.backupId()).deleted())
                .map(BackupCompleted::backupId).collect(Collectors.toSet());
        List<RetainedBackup> scoped = Chains.within(Chains.link(history), candidates);
        SchedulerClient.PolicyInfo.Retention r = policy.retention();
        RetentionCounts counts = r == null ? new RetentionCounts(0, 0, 0)
                : new RetentionCounts(orZero(r.daily()), orZero(r.weekly()), orZero(r.monthly()));
        return GfsCalculator.decide(scoped, counts);
    }

    private static int orZero(Integer n) {
        return n == null ? 0 : n;
    }

    /** The policy, or null when scheduler-service does not know it; other failures are thrown (retried). */
    private SchedulerClient.PolicyInfo policy(String policyId) {
        try {
            return scheduler.policy(policyId);
        } catch (WebApplicationException e) {
            int status = e.getResponse().getStatus();
            if (status == 404 || status == 400) {
                return null;
            }
            throw new IllegalStateException("scheduler-service answered " + status + " for policy '" + policyId
                    + "'" + (status == 401 || status == 403 ? ": check this service's token "
                    + "(lifeboat.service-auth.token-file) and its role" : ""), e);
        }
    }

    private static BackupCompleted completedOf(SealedBackup seal) {
        try {
            return EventCodec.mapper().readValue(seal.eventData(), BackupCompleted.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored BackupCompleted of backup " + seal.backupId()
                    + " is unreadable: " + e.getOriginalMessage(), e);
        }
    }
}
