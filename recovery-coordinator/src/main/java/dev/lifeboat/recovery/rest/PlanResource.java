package dev.lifeboat.recovery.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.service.PlanService;
import dev.lifeboat.recovery.service.RunService;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import jakarta.ws.rs.core.Context;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.List;
import java.util.Map;

@Path("/api/v1/plans")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class PlanResource {
    private final PlanService plans;
    private final RunService runs;
    private final SecurityIdentity identity;

    public PlanResource(PlanService plans, RunService runs, SecurityIdentity identity) {
        this.plans = plans;
        this.runs = runs;
        this.identity = identity;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(summary = "List disaster-recovery plans, oldest first")
    public List<PlanView> list() {
        return plans.list().stream().map(PlanView::of).toList();
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    @Operation(summary = "Create a plan", description = "Sources are checked against scheduler-service; "
            + "400 lists every invalid field, 422 names an unknown source or a live-source target.")
    public Response create(JsonNode body, @Context UriInfo uri) {
        PlanView view = PlanView.of(plans.create(body, identity.getPrincipal().getName()));
        return Response.created(uri.getAbsolutePathBuilder().path(view.id()).build()).entity(view).build();
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    public PlanView get(@PathParam("id") @Pattern(regexp = Ids.SLUG, message = Ids.SLUG_MESSAGE) String id) {
        return PlanView.of(plans.get(id));
    }

    @RolesAllowed(Roles.ADMIN)
    @PUT
    @Path("{id}")
    @Operation(summary = "Replace a plan (runs already started keep the plan they started with)")
    public PlanView update(@PathParam("id") @Pattern(regexp = Ids.SLUG, message = Ids.SLUG_MESSAGE) String id, JsonNode body) {
        return PlanView.of(plans.update(id, body, identity.getPrincipal().getName()));
    }

    @RolesAllowed(Roles.ADMIN)
    @DELETE
    @Path("{id}")
    public Response delete(@PathParam("id") @Pattern(regexp = Ids.SLUG, message = Ids.SLUG_MESSAGE) String id) {
        plans.delete(id);
        return Response.noContent().build();
    }

    @RolesAllowed({Roles.OPERATOR, Roles.ADMIN})
    @POST
    @Path("{id}/runs")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Start a run of the plan", description = "Body {\"mode\": \"recovery\" | \"drill\", "
            + "\"replaceExisting\": false}. A recovery needs role lifeboat-admin (403 otherwise); its restores "
            + "refuse an existing database unless replaceExisting is true. 422 when a target server is gone or no "
            + "longer allows the database. Answers 202 with the run id; follow the Location header.")
    public Response start(@PathParam("id") @Pattern(regexp = Ids.SLUG, message = Ids.SLUG_MESSAGE) String planId, JsonNode body, @Context UriInfo uri) {
        Run run = runs.start(planId, body, identity);
        return Response.accepted(Map.of("runId", run.id, "planId", run.planId, "mode", run.mode.name(),
                        "status", run.status.name()))
                .location(uri.getBaseUriBuilder().path("api/v1/runs").path(run.id).build()).build();
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/runs")
    @Operation(summary = "Runs of the plan, newest first")
    public List<RunView> ofPlan(@PathParam("id") @Pattern(regexp = Ids.SLUG, message = Ids.SLUG_MESSAGE) String planId) {
        return runs.ofPlan(planId).stream().map(RunView::of).toList();
    }
}
