package dev.lifeboat.recovery.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.recovery.service.RunService;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/api/v1/runs")
@Produces(MediaType.APPLICATION_JSON)
public class RunResource {
    /** Command ids as the coordinator makes them: {@code <run id>:<step>:<action>}. */
    static final String COMMAND_ID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9]{1,4}:[a-z-]{1,40}$";

    private final RunService runs;

    public RunResource(RunService runs) {
        this.runs = runs;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    @Operation(summary = "One run: status, every step with timings and details, result, transitions")
    public RunView get(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN, message = Ids.UUID_MESSAGE) String runId) {
        return RunView.of(runs.get(runId));
    }

    /**
     * What a participant checks a command it received against before acting on it: the commands topic is written
     * by this coordinator alone, but whoever holds its Kafka credentials could write any command there.
     */
    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/commands")
    @Operation(summary = "A command sent for the run, by its commandId: the command as last sent, and whether the run "
            + "still waits for its reply (awaited); 404 (title 'Command Not Sent') when none was sent")
    public IssuedCommandView command(
            @PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN, message = Ids.UUID_MESSAGE) String runId,
            @QueryParam("commandId") @NotNull(message = "the query parameter commandId is required")
            @Pattern(regexp = COMMAND_ID, message = "must be a command id (<run id>:<step>:<action>)") String commandId) {
        return IssuedCommandView.of(runs.command(runId, commandId));
    }
}
