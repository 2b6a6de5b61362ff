package dev.lifeboat.catalog.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.catalog.domain.RpoCompliance;
import dev.lifeboat.catalog.service.BackupQueries;
import dev.lifeboat.catalog.service.RpoQueries;
import dev.lifeboat.kit.rest.Problem;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

@Path("/api/v1/sources")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "sources", description = "What the catalog knows per source")
public class SourceResource {
    private final BackupQueries queries;
    private final RpoQueries rpo;

    public SourceResource(BackupQueries queries, RpoQueries rpo) {
        this.queries = queries;
        this.rpo = rpo;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/latest-restorable")
    @Operation(summary = "The newest COMPLETED backup of a source (latest snapshot start)")
    @APIResponse(responseCode = "200", description = "the backup to restore from")
    @APIResponse(responseCode = "404", description = "the source has no completed backup",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<BackupView> latestRestorable(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String sourceId) {
        return queries.latestRestorable(sourceId).map(BackupView::of);
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/rpo")
    @Operation(summary = "RPO compliance now: the newest restorable backup's age against the strictest RPO of the "
            + "source's enabled policies (from scheduler-service)")
    @APIResponse(responseCode = "200", description = "compliant true/false; null only when no enabled policy sets an RPO")
    @APIResponse(responseCode = "404", description = "scheduler-service does not know the source",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "502", description = "scheduler-service answered with an error",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    @APIResponse(responseCode = "503", description = "scheduler-service is unreachable or too slow",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RpoCompliance> rpo(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String sourceId) {
        return rpo.compliance(sourceId);
    }
}
