package dev.lifeboat.storage.service;

import dev.lifeboat.contracts.OffsiteDestination;
import dev.lifeboat.contracts.SnapshotCreated;
import dev.lifeboat.kit.objectstore.ObjectStoreConfig;
import dev.lifeboat.storage.client.SchedulerClient;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.WebApplicationException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.rest.client.inject.RestClient;

import java.util.Objects;
import java.util.Optional;

/**
 * Where a backup may be read from and copied to, from the platform's own configuration, never from the
 * SnapshotCreated: any principal that may write the lifecycle topic could name any bucket this worker's credentials
 * reach, to have it read there or to have the sealed backup and its repository key copied there. snapshot-worker
 * writes a backup of source {@code S} into the repository {@code <prefix>/S} of the bucket its policy names
 * (scheduler-service, {@code GET /api/v1/policies/{id}}), the defaults {@code lifeboat.object-store.default-bucket}
 * and {@code lifeboat.snapshot.default-prefix} for what the policy leaves out or when the backup has no policy, and
 * names the policy's offsite destination (the same layout, {@code <offsite prefix>/S}) and no other. This guard
 * recomputes exactly that and compares. scheduler-service unreachable or answering 5xx is thrown (transient: the
 * record is retried, then parked); its 401/403 is thrown too (a refusal of this worker: parked at once).
 */
@ApplicationScoped
public class DestinationGuard {
    /** Why a SnapshotCreated is refused; the tag of {@code lifeboat_backup_seals_refused_total}. */
    public enum Refusal { POLICY_UNKNOWN, POLICY_OF_OTHER_SOURCE, DESTINATION_NOT_POLICYS, OFFSITE_NOT_POLICYS }

    /** What the platform's configuration says about one SnapshotCreated: where it must be, or why nothing does. */
    sealed interface Lookup permits Expected, Refused {
    }

    public record Refused(Refusal refusal, String reason) implements Lookup {
    }

    /** Where the backup must be and where it may be copied (null: nowhere); {@code by}: whose word that is. */
    record Expected(String bucket, String repositoryPrefix, OffsiteDestination offsite, String by) implements Lookup {
    }

    private final SchedulerClient scheduler;
    private final String defaultBucket;
    private final String defaultPrefix;

    public DestinationGuard(@RestClient SchedulerClient scheduler, ObjectStoreConfig store,
                            @ConfigProperty(name = "lifeboat.snapshot.default-prefix", defaultValue = "backups")
                            String defaultPrefix) {
        this.scheduler = scheduler;
        this.defaultBucket = store.defaultBucket();
        this.defaultPrefix = defaultPrefix;
    }

    /**
     * Why {@code s} cannot be read where it says or copied where it says, or empty. Called before anything is read
     * from the object store for it.
     */
    public Optional<Refused> check(SnapshotCreated s) {
        return switch (expected(s)) {
            case Refused refused -> Optional.of(refused);
            case Expected expected -> {
                Optional<ManifestLocation> at = ManifestLocation.parse(s.objectKey());
                if (!expected.bucket().equals(s.bucket())
                        || at.isPresent() && !expected.repositoryPrefix().equals(at.get().prefix())) {
                    yield Optional.of(new Refused(Refusal.DESTINATION_NOT_POLICYS, "the SnapshotCreated puts backup "
                            + s.backupId() + " in s3://" + s.bucket() + "/"
                            + at.map(ManifestLocation::prefix).orElse(s.objectKey()) + ", but the repository of "
                            + "source '" + s.sourceId() + "' is s3://" + expected.bucket() + "/"
                            + expected.repositoryPrefix() + " by " + expected.by() + "; nothing was read there and "
                            + "nothing sealed. Only snapshot-worker announces backups; if the destination was changed "
                            + "after this backup was taken, take a new backup"));
                }
                yield offsiteProblem(s, expected, "nothing was copied and nothing sealed");
            }
        };
    }

    /**
     * Why the offsite destination {@code s} names is not the one its policy gives, or empty: checked again before a
     * redelivered SnapshotCreated of a sealed backup queues its copy.
     */
    public Optional<Refused> checkOffsite(SnapshotCreated s) {
        return switch (expected(s)) {
            case Refused refused -> Optional.of(refused);
            case Expected expected -> offsiteProblem(s, expected, "no copy was queued (the backup stays sealed)");
        };
    }

    private static Optional<Refused> offsiteProblem(SnapshotCreated s, Expected expected, String consequence) {
        if (Objects.equals(s.offsite(), expected.offsite())) {
            return Optional.empty();
        }
        String asked = s.offsite() == null ? "no offsite copy"
                : "an offsite copy to s3://" + s.offsite().bucket() + "/" + s.offsite().prefix();
        String allowed = expected.offsite() == null ? "no offsite copy"
                : "its offsite copy in s3://" + expected.offsite().bucket() + "/" + expected.offsite().prefix();
        return Optional.of(new Refused(Refusal.OFFSITE_NOT_POLICYS, "the SnapshotCreated of backup " + s.backupId()
                + " asks for " + asked + ", but backups of source '" + s.sourceId() + "' get " + allowed + " by "
                + expected.by() + "; " + consequence + ". Only snapshot-worker announces backups; "
                + "if the policy's offsite destination was changed after this backup was taken, take a new backup"));
    }

    /** The policy's destination (the defaults for what it leaves out, or without a policy), or why there is none. */
    private Lookup expected(SnapshotCreated s) {
        String policyId = s.policyId();
        if (policyId == null) {
            return new Expected(defaultBucket, repositoryPrefix(defaultPrefix, s.sourceId()), null,
                    "this worker's lifeboat.object-store.default-bucket '" + defaultBucket + "' and "
                            + "lifeboat.snapshot.default-prefix '" + defaultPrefix + "' (the backup names no policy; "
                            + "they must equal snapshot-worker's)");
        }
        SchedulerClient.PolicyInfo policy = policy(policyId);
        if (policy == null) {
            return new Refused(Refusal.POLICY_UNKNOWN, "backup " + s.backupId() + " names policy '" + policyId
                    + "', which scheduler-service does not know, so nothing says where its backups are; nothing was "
                    + "read and nothing sealed. If the policy was deleted after this backup was taken, take a new "
                    + "backup");
        }
        if (!s.sourceId().equals(policy.sourceId())) {
            return new Refused(Refusal.POLICY_OF_OTHER_SOURCE, "backup " + s.backupId() + " of source '"
                    + s.sourceId() + "' names policy '" + policyId + "', which belongs to source '"
                    + policy.sourceId() + "'; nothing was read and nothing sealed");
        }
        SchedulerClient.PolicyInfo.Destination d = policy.destination();
        String bucket = d != null && d.bucket() != null ? d.bucket() : defaultBucket;
        String prefix = d != null && d.prefix() != null ? d.prefix() : defaultPrefix;
        SchedulerClient.PolicyInfo.Destination o = policy.offsite();
        OffsiteDestination offsite = o == null || o.bucket() == null ? null : new OffsiteDestination(o.bucket(),
                repositoryPrefix(o.prefix() != null ? o.prefix() : defaultPrefix, s.sourceId()));
        return new Expected(bucket, repositoryPrefix(prefix, s.sourceId()), offsite, "policy '" + policyId
                + "' in scheduler-service (this worker's default bucket and prefix for what it leaves out)");
    }

    /** One repository per source, {@code <prefix>/<sourceId>}: snapshot-worker's layout. */
    static String repositoryPrefix(String prefix, String sourceId) {
        return dev.lifeboat.repository.snapshot.Layout.repositoryPrefix(prefix, sourceId);
    }

    /** The policy, or null when scheduler-service does not know it; other failures are thrown (retried or parked). */
    private SchedulerClient.PolicyInfo policy(String policyId) {
        try {
            return scheduler.policy(policyId);
        } catch (WebApplicationException e) {
            int status = e.getResponse().getStatus();
            // scheduler-service's own answer that it knows no such policy (problem+json), not a 404 of something in
            // front of it (a wrong SCHEDULER_URL, a gateway during a deploy), which is retried like an outage
            if ((status == 404 || status == 400) && e.getResponse().getMediaType() != null
                    && "problem+json".equals(e.getResponse().getMediaType().getSubtype())) {
                return null;
            }
            throw new IllegalStateException("scheduler-service answered " + status + " for policy '" + policyId
                    + "' (where its backups are)" + (status == 401 || status == 403 ? ": check this service's "
                    + "token (lifeboat.service-auth.token-file) and its role" : ""), e);
        }
    }
}
