package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.FleetView;
import dev.lifeboat.catalog.service.FleetQueries;
import dev.lifeboat.identity.Roles;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

@Path("/api/v1/fleet")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "fleet", description = "Every source at a glance")
public class FleetResource {
    private final FleetQueries fleet;

    public FleetResource(FleetQueries fleet) {
        this.fleet = fleet;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(summary = "Every source the catalog or scheduler-service knows: its newest restorable backup and its "
            + "age against the RPO (the rule of GET /sources/{id}/rpo), the next scheduled backup, the WAL archive's "
            + "lag, the last drill's RTO against its target and the newest verification")
    @APIResponse(responseCode = "200", description = "the fleet, by source id; when scheduler-service does not answer "
            + "the catalog's part still comes, with rpoSeconds, rpoCompliant and nextScheduledAt null and the reason")
    public Uni<FleetView> fleet() {
        return fleet.fleet();
    }
}
