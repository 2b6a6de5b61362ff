package dev.lifeboat.recovery.rest;

import dev.lifeboat.recovery.domain.CronSchedule;
import dev.lifeboat.recovery.domain.PlanSpec;
import dev.lifeboat.recovery.domain.PlanStep;

import java.time.Instant;
import java.util.List;

public record PlanView(String id, String name, String rto, String rpo, String drillSchedule, Instant nextDrillAt,
                       String stepTimeout, List<PlanStep> steps, Instant createdAt, Instant updatedAt, String createdBy,
                       String updatedBy) {
    static PlanView of(PlanSpec p) {
        Instant next = p.drillSchedule() == null ? null
                : CronSchedule.nextAfter(p.drillSchedule(), Instant.now()).orElse(null);
        return new PlanView(p.id(), p.name(), p.rto(), p.rpo(), p.drillSchedule(), next, p.stepTimeout(), p.steps(),
                p.createdAt(), p.updatedAt(), p.createdBy(), p.updatedBy());
    }
}
