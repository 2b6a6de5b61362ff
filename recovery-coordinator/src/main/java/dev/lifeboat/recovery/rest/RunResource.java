package dev.lifeboat.recovery.rest;

import dev.lifeboat.recovery.service.RunService;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/api/v1/runs")
@Produces(MediaType.APPLICATION_JSON)
public class RunResource {
    private final RunService runs;

    public RunResource(RunService runs) {
        this.runs = runs;
    }

    @GET
    @Path("{id}")
    @Operation(summary = "One run: status, every step with timings and details, result, transitions")
    public RunView get(@PathParam("id") String runId) {
        return RunView.of(runs.get(runId));
    }
}
