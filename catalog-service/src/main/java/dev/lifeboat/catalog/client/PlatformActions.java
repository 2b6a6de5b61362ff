package dev.lifeboat.catalog.client;

import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.faulttolerance.Timeout;
import org.eclipse.microprofile.rest.client.inject.RegisterRestClient;

import java.time.Instant;
import java.util.List;

/**
 * What the dashboard asks of the services that own the actions, always with the signed-in person's own bearer token
 * ({@code authorization}), never the catalog's: the owning service checks the person's role and records the person in
 * its audit trail. Requests that start work are not retried (a retry could start it twice).
 */
public final class PlatformActions {
    private PlatformActions() {
    }

    /** scheduler-service: on-demand backups. */
    @RegisterRestClient(configKey = "scheduler")
    @Path("/api/v1")
    public interface Scheduler {
        @POST
        @Path("backups")
        @Consumes(MediaType.APPLICATION_JSON)
        @Timeout(5000)
        Uni<BackupAccepted> requestBackup(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization,
                                          BackupOrder order);
    }

    /** recovery-coordinator: plans and their runs. */
    @RegisterRestClient(configKey = "coordinator")
    @Path("/api/v1")
    public interface Coordinator {
        @GET
        @Path("plans")
        @Timeout(5000)
        Uni<List<PlanInfo>> plans(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization);

        @POST
        @Path("plans/{id}/runs")
        @Consumes(MediaType.APPLICATION_JSON)
        @Timeout(5000)
        Uni<RunInfo> startRun(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization,
                              @PathParam("id") String planId, RunOrder order);

        @GET
        @Path("runs/{id}")
        @Timeout(5000)
        Uni<RunInfo> run(@HeaderParam(HttpHeaders.AUTHORIZATION) String authorization, @PathParam("id") String runId);
    }

    public record BackupOrder(String sourceId, String type) {
    }

    public record BackupAccepted(String backupId, String sourceId, String type, String requestedBy) {
    }

    public record RunOrder(String mode) {
    }

    /** The part of recovery-coordinator's PlanView the dashboard shows. */
    public record PlanInfo(String id, String name, String rto, String rpo, String drillSchedule, Instant nextDrillAt) {
    }

    /** The part of recovery-coordinator's RunView the dashboard needs: the run and its trace. */
    public record RunInfo(String runId, String planId, String status, String traceId) {
    }
}
