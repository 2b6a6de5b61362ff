package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.FleetView;
import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.service.FleetQueries;
import dev.lifeboat.identity.Roles;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
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
                    + FleetQueries.DEFAULT_SIZE + ")")
            @QueryParam("size") @Min(value = 1, message = "must be at least 1")
            @Max(value = FleetQueries.MAX_SIZE, message = "must be at most " + FleetQueries.MAX_SIZE) Integer size,
            @Parameter(description = "the nextCursor of the page before; absent: the first page")
            @QueryParam("cursor") String cursor) {
        ListCursor after = ListCursor.decode(FleetQueries.LIST, "", cursor);
        return fleet.page(after == null ? null : after.id(), size == null ? FleetQueries.DEFAULT_SIZE : size);
    }
}
