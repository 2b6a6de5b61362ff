package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.kit.security.Actor;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.contracts.BackupType;
import dev.lifeboat.scheduler.messaging.OutboxRelay;
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
    @Inject
    OutboxRelay relay;
    @Inject
    Actor actor;

    @RolesAllowed({Roles.OPERATOR, Roles.ADMIN})
    @POST
    public Uni<Response> request(@Valid @NotNull BackupOrder order) {
        BackupType type = order.type() == null ? BackupType.FULL : order.type();
        if (order.requestedBy() != null) {
            throw new ProblemException(400, "Invalid request",
                    "requestedBy is not accepted: the requester is the bearer token's subject");
        }
        return backups.requestOnDemand(order.sourceId(), type, order.policyId(), actor.name())
                .invoke(relay::wake)
                .map(r -> Response.accepted(BackupAccepted.of(r))
                        .location(URI.create("/api/v1/backups/" + r.backupId)).build());
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    public Uni<BackupAccepted> get(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN, message = Ids.UUID_MESSAGE) String id) {
        return backups.get(id).map(BackupAccepted::of);
    }
}
