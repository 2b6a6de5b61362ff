package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.lifeboat.contracts.recovery.RecoveryTarget;
import dev.lifeboat.contracts.recovery.SqlCheck;

import java.util.List;

/** One plan step, stored and answered as JSON with its {@code kind}. Durations are ISO-8601 strings. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = PlanStep.RestoreDatabase.class, name = PlanStep.RESTORE),
        @JsonSubTypes.Type(value = PlanStep.RestoreCluster.class, name = PlanStep.RESTORE_CLUSTER),
        @JsonSubTypes.Type(value = PlanStep.RestartServices.class, name = PlanStep.RESTART),
        @JsonSubTypes.Type(value = PlanStep.VerifyIntegrity.class, name = PlanStep.VERIFY),
        @JsonSubTypes.Type(value = PlanStep.NotifyStakeholders.class, name = PlanStep.NOTIFY)})
public sealed interface PlanStep {
    String RESTORE = "RestoreDatabase";
    String RESTORE_CLUSTER = "RestoreCluster";
    String RESTART = "RestartServices";
    String VERIFY = "VerifyIntegrity";
    String NOTIFY = "NotifyStakeholders";
    List<String> KINDS = List.of(RESTORE, RESTORE_CLUSTER, RESTART, VERIFY, NOTIFY);

    /** The step's own timeout (ISO-8601), or null for the plan's default. */
    String timeout();

    @JsonIgnore
    default String kind() {
        return switch (this) {
            case RestoreDatabase r -> RESTORE;
            case RestoreCluster r -> RESTORE_CLUSTER;
            case RestartServices r -> RESTART;
            case VerifyIntegrity v -> VERIFY;
            case NotifyStakeholders n -> NOTIFY;
        };
    }

    /**
     * {@code backup}: "latest" or a backup id. {@code target}: the name of a registered target server;
     * {@code database}: the database on it that a recovery restores into (a drill uses a scratch database there).
     */
    record RestoreDatabase(String sourceId, String backup, String target, String database, int jobs,
                           boolean allowLiveSource, String timeout) implements PlanStep {
        @JsonIgnore
        public boolean latest() {
            return "latest".equals(backup);
        }
    }

    /**
     * A point-in-time restore of a physical source into a new PostgreSQL cluster on a registered cluster target:
     * {@code backup} "latest" or a backup id (its base backup); {@code recoveryTarget} how far archived WAL is
     * replayed; {@code cluster} the new data directory's name under the target's data root (a drill uses
     * {@code drill_<run>_<step>}); {@code port} one of the target's ports. {@code drillAgo} (ISO-8601 duration,
     * optional): a drill replays to its start minus this instead, so that it proves the recent past is recoverable.
     */
    record RestoreCluster(String sourceId, String backup, String target, String cluster, int port,
                          RecoveryTarget recoveryTarget, String drillAgo, String timeout) implements PlanStep {
        @JsonIgnore
        public boolean latest() {
            return "latest".equals(backup);
        }
    }

    /** {@code timeout} here is per HTTP call; the step as a whole runs under the plan's step timeout. */
    record RestartServices(List<Endpoint> endpoints, String timeout, int retries) implements PlanStep {
    }

    record Endpoint(String method, String url, int expectedStatus) {
    }

    record VerifyIntegrity(boolean checksums, List<SqlCheck> checks, String timeout) implements PlanStep {
    }

    record NotifyStakeholders(List<String> webhooks, String timeout) implements PlanStep {
    }
}
