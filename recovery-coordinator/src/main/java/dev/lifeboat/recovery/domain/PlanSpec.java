package dev.lifeboat.recovery.domain;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** A validated disaster-recovery plan; {@code createdBy}/{@code updatedBy} are the principals who wrote it. */
public record PlanSpec(String id, String name, String rto, String rpo, String drillSchedule, String stepTimeout,
                       List<PlanStep> steps, Instant createdAt, Instant updatedAt, String createdBy, String updatedBy) {

    public Duration rtoDuration() {
        return Duration.parse(rto);
    }

    public Duration rpoDuration() {
        return Duration.parse(rpo);
    }

    public PlanSpec withTimes(Instant created, Instant updated) {
        return new PlanSpec(id, name, rto, rpo, drillSchedule, stepTimeout, steps, created, updated, createdBy,
                updatedBy);
    }

    public PlanSpec withAuthors(String created, String updated) {
        return new PlanSpec(id, name, rto, rpo, drillSchedule, stepTimeout, steps, createdAt, updatedAt, created,
                updated);
    }
}
