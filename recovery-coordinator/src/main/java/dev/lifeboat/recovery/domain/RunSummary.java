package dev.lifeboat.recovery.domain;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/** What stakeholders' webhooks receive: the run so far. */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record RunSummary(Plan plan, String runId, String mode, String status, String outcome, String reason,
                         String startedAt, long elapsedMillis, long rtoMillis, boolean rtoMet, Boolean rpoMet,
                         Backup backup, List<Step> steps) {

    public record Plan(String id, String name, String rto, String rpo) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Backup(String backupId, String sourceId, Long ageSeconds) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Step(int index, String kind, String status, Long durationMillis, String message) {
    }
}
