package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.lifeboat.contracts.recovery.SqlCheck;

import java.util.List;

/** One plan step, stored and answered as JSON with its {@code kind}. Durations are ISO-8601 strings. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = PlanStep.RestoreDatabase.class, name = PlanStep.RESTORE),
        @JsonSubTypes.Type(value = PlanStep.RestartServices.class, name = PlanStep.RESTART),
        @JsonSubTypes.Type(value = PlanStep.VerifyIntegrity.class, name = PlanStep.VERIFY),
        @JsonSubTypes.Type(value = PlanStep.NotifyStakeholders.class, name = PlanStep.NOTIFY)})
public sealed interface PlanStep {
    String RESTORE = "RestoreDatabase";
    String RESTART = "RestartServices";
    String VERIFY = "VerifyIntegrity";
    String NOTIFY = "NotifyStakeholders";
    List<String> KINDS = List.of(RESTORE, RESTART, VERIFY, NOTIFY);

    /** The step's own timeout (ISO-8601), or null for the plan's default. */
    String timeout();

    @JsonIgnore
    default String kind() {
        return switch (this) {
            case RestoreDatabase r -> RESTORE;
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
