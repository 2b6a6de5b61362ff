package dev.lifeboat.catalog.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.catalog.domain.RpoCompliance;
import dev.lifeboat.catalog.service.BackupQueries;
import dev.lifeboat.catalog.service.RpoQueries;
import dev.lifeboat.catalog.domain.RecoveryWindow;
import dev.lifeboat.catalog.domain.RtoPrediction;
import dev.lifeboat.catalog.service.RecoveryWindowQueries;
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
    private final RecoveryWindowQueries windows;

    public SourceResource(BackupQueries queries, RpoQueries rpo, RecoveryWindowQueries windows) {
        this.queries = queries;
        this.rpo = rpo;
        this.windows = windows;
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

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/recovery-window")
    @Operation(summary = "The points the source can be recovered to: for a physical source the continuous window from "
            + "the consistency point of its oldest retained base backup followed by gap-free WAL to the last point "
            + "its WAL archive reaches (before a gap, if one is reported); for a logical source its backup points")
    @APIResponse(responseCode = "200", description = "continuous true with earliest and latest (physical); false with "
            + "the reason (no window yet, or a logical source: restorePoints)")
    @APIResponse(responseCode = "404", description = "the catalog knows no backup and no WAL archive of the source",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RecoveryWindow> recoveryWindow(@PathParam("id") @Pattern(regexp = Ids.NAME,
            message = Ids.NAME_MESSAGE) String sourceId) {
        return windows.window(sourceId);
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/rto")
    @Operation(summary = "The RTO predicted for restoring the source now (its current size at the rates a recent run "
            + "measured), next to its last drill's measured RTO and the plan's RTO target")
    @APIResponse(responseCode = "200", description = "predictedSeconds, or null with the reason when nothing is "
            + "measured yet; the inputs and the run the rates come from")
    @APIResponse(responseCode = "404", description = "the catalog knows no backup and no WAL archive of the source",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RtoPrediction> rto(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE)
                                  String sourceId) {
        return windows.rto(sourceId);
    }
}
