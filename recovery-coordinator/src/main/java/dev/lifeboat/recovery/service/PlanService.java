package dev.lifeboat.recovery.service;

import dev.lifeboat.recovery.domain.Plan;
import io.opentelemetry.instrumentation.annotations.WithSpan;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;

@ApplicationScoped
public class PlanService {

    /** Every plan, oldest first. */
    @WithSession
    @WithSpan("PlanService.list")
    public Uni<List<Plan>> list() {
        return Plan.listAll(Sort.by("createdAt").and("id"));
    }
}
