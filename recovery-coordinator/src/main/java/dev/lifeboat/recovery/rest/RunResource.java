package dev.lifeboat.recovery.rest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.recovery.domain.Run;
import dev.lifeboat.recovery.service.RunService;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.List;
import java.util.Map;

@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
public class RunResource {
    private final RunService runs;

    public RunResource(RunService runs) {
        this.runs = runs;
    }

    @POST
    @Path("plans/{id}/runs")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Start a run of the plan", description = "Body {\"mode\": \"recovery\" | \"drill\"}. "
            + "Answers 202 with the run id; follow the Location header.")
    public Response start(@PathParam("id") String planId, JsonNode body, @Context UriInfo uri) {
        Run run = runs.start(planId, body);
        return Response.accepted(Map.of("runId", run.id, "planId", run.planId, "mode", run.mode.name(),
                        "status", run.status.name()))
                .location(uri.getBaseUriBuilder().path("api/v1/runs").path(run.id).build()).build();
    }

    @GET
    @Path("plans/{id}/runs")
    @Operation(summary = "Runs of the plan, newest first")
    public List<RunView> ofPlan(@PathParam("id") String planId) {
        return runs.ofPlan(planId).stream().map(RunView::of).toList();
    }

    @GET
    @Path("runs/{id}")
    @Operation(summary = "One run: status, every step with timings and details, result, transitions")
    public RunView get(@PathParam("id") String runId) {
        return RunView.of(runs.get(runId));
    }
}
