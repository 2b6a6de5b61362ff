package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.service.BackupQueries;
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

    public SourceResource(BackupQueries queries) {
        this.queries = queries;
    }

    @GET
    @Path("{id}/latest-restorable")
    @Operation(summary = "The newest COMPLETED backup of a source (latest snapshot start)")
    @APIResponse(responseCode = "200", description = "the backup to restore from")
    @APIResponse(responseCode = "404", description = "the source has no completed backup",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<BackupView> latestRestorable(@PathParam("id") String sourceId) {
        return queries.latestRestorable(sourceId).map(BackupView::of);
    }
}
