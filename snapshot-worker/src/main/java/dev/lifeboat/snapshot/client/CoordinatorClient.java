package dev.lifeboat.snapshot.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.kit.security.ServiceBearerToken;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import org.eclipse.microprofile.rest.client.annotation.RegisterProvider;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

/**
 * The target servers admins registered in recovery-coordinator, which owns them: a recovery command names one, and
 * the worker takes host, port, user, password reference and database pattern from here, never from the command
 * alone; and every recovery command the worker receives, which it acts on only as the coordinator sent it. Read with the worker's service token (role lifeboat-viewer); its caller retries and sets the deadline
 * ({@code quarkus.rest-client.coordinator.*}).
 */
@RegisterRestClient(configKey = "coordinator")
@RegisterProvider(ServiceBearerToken.class)
@Path("/api/v1")
public interface CoordinatorClient {

    @GET
    @Path("targets/{name}")
    RegisteredTarget target(@PathParam("name") String name);

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

    /**
     * A registered target as recovery-coordinator shows it: kind {@code database} (host, port, user, passwordRef and
     * the anchored pattern of the database names restores may create, replace or drop there) or {@code cluster}.
     */
    record RegisteredTarget(String name, String kind, String host, Integer port, String user, String passwordRef,
                            String databasePattern) {
    }
}
