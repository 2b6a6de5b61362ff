package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.scheduler.service.BackupRequestService;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Response;

import java.net.URI;

/** On-demand backups: 202 with the backupId; the catalog follows its progress. */
@Path("/api/v1/backups")
public class BackupResource {
    @Inject
    BackupRequestService backups;

    @POST
    public Uni<Response> request(@Valid @NotNull BackupOrder order) {
        BackupType type = order.type() == null ? BackupType.FULL : order.type();
        String by = order.requestedBy() == null || order.requestedBy().isBlank() ? "http" : order.requestedBy();
        return backups.requestOnDemand(order.sourceId(), type, order.policyId(), by)
                .map(r -> Response.accepted(BackupAccepted.of(r))
                        .location(URI.create("/api/v1/backups/" + r.backupId)).build());
    }

    @GET
    @Path("{id}")
    public Uni<BackupAccepted> get(@PathParam("id") String id) {
        return backups.get(id).map(BackupAccepted::of);
    }
}
