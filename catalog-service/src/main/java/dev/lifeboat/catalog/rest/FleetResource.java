package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.FleetView;
import dev.lifeboat.catalog.service.FleetQueries;
import dev.lifeboat.identity.Roles;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

@Path("/api/v1/fleet")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "fleet", description = "Every source at a glance, a page at a time")
public class FleetResource {
    private final FleetQueries fleet;

    public FleetResource(FleetQueries fleet) {
        this.fleet = fleet;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(summary = "The sources the catalog or scheduler-service knows, a page at a time in id order: each "
            + "source's newest restorable backup and its age against the RPO (the rule of GET /sources/{id}/rpo), the "
            + "next scheduled backup, the WAL archive's lag, the last drill's RTO against its target and the newest "
            + "verification")
    @APIResponse(responseCode = "200", description = "one page of the fleet, by source id; when scheduler-service does "
            + "not answer the catalog's part still comes, with rpoSeconds, rpoCompliant and nextScheduledAt null and "
            + "the reason")
    @APIResponse(responseCode = "400", description = "a size out of range or a cursor that is not this list's")
    public Uni<FleetView> fleet(
            @Parameter(description = "sources per page, 1 to " + FleetQueries.MAX_SIZE + " (default "
                    + FleetQueries.DEFAULT_SIZE + ")", schema = @Schema(type = SchemaType.INTEGER))
            @QueryParam("size") String size,
            @Parameter(description = "the nextCursor of the page before; absent: the first page")
            @QueryParam("cursor") String cursor) {
        int pageSize = FleetQueries.pageSize(size);
        return fleet.page(FleetQueries.cursorSourceId(cursor), pageSize);
    }
}
