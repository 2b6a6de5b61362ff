package dev.lifeboat.recovery.rest;

import dev.lifeboat.recovery.domain.Plan;

import java.time.Instant;

public record PlanView(String id, String name, Instant createdAt) {
    static PlanView of(Plan p) {
        return new PlanView(p.id, p.name, p.createdAt);
    }
}
