package dev.lifeboat.recovery.rest;

import dev.lifeboat.recovery.service.PlanService;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.List;

@Path("/api/v1/plans")
public class PlanResource {
    private final PlanService plans;

    public PlanResource(PlanService plans) {
        this.plans = plans;
    }

    @GET
    @Operation(summary = "List disaster-recovery plans",
            description = "Plans cannot be created yet: the recovery saga (plans, runs, drills) is not built.")
    public Uni<List<PlanView>> list() {
        return plans.list().map(l -> l.stream().map(PlanView::of).toList());
    }
}
