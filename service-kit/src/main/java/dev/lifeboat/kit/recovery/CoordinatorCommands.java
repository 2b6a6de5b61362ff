package dev.lifeboat.kit.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.kit.security.ServiceBearerToken;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import org.eclipse.microprofile.rest.client.annotation.RegisterProvider;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/**
 * recovery-coordinator's record of the commands it sent, which a participant reads a command it received back from
 * before acting on it ({@link IssuedCommands}). Read with the participant's service token (role lifeboat-viewer) at
 * {@code quarkus.rest-client.coordinator.url} ({@code COORDINATOR_URL}); its caller retries and sets the deadline.
 */
@RegisterRestClient(configKey = "coordinator")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface CoordinatorCommands {

    /**
     * Command {@code commandId} of run {@code runId} as the coordinator sent it: with the command while the run still
     * waits for its reply ({@code awaited}); 404 when the coordinator sent no such command.
     */
    @GET
    @Path("runs/{runId}/commands")
    IssuedCommand command(@PathParam("runId") String runId, @QueryParam("commandId") String commandId);

    /** A command as recovery-coordinator's {@code GET /api/v1/runs/{id}/commands} shows it. */
    record IssuedCommand(String commandId, String runId, int step, String action, String type, boolean awaited,
                         JsonNode command) {
    }
}
