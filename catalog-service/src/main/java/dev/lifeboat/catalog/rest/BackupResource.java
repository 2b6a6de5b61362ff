package dev.lifeboat.catalog.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.catalog.domain.BackupQuery;
import dev.lifeboat.catalog.domain.Backup;
import dev.lifeboat.catalog.service.BackupProgressStream;
import dev.lifeboat.catalog.service.BackupQueries;
import dev.lifeboat.kit.rest.ProblemException;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import dev.lifeboat.kit.rest.Problem;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

@Path("/api/v1/backups")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "backups", description = "Backup history, as recorded from the backup events")
public class BackupResource {
    private final BackupQueries queries;
    private final BackupProgressStream progress;

    public BackupResource(BackupQueries queries, BackupProgressStream progress) {
        this.queries = queries;
        this.progress = progress;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(summary = "List backups, newest first (by requestedAt, then backupId), one page per cursor")
    @APIResponse(responseCode = "200", description = "one page of backups")
    @APIResponse(responseCode = "400", description = "a filter or paging parameter is invalid",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<BackupPageView> list(
            @Parameter(description = "only backups of this source") @QueryParam("sourceId") String sourceId,
            @Parameter(description = "REQUESTED, RUNNING, SNAPSHOT_CREATED, COMPLETED, FAILED or DELETED")
            @QueryParam("status") String status,
            @Parameter(description = "FULL, INCREMENTAL or DIFFERENTIAL") @QueryParam("type") String type,
            @Parameter(description = "requested at or after this ISO-8601 instant") @QueryParam("from") String from,
            @Parameter(description = "requested before this ISO-8601 instant") @QueryParam("to") String to,
            @Parameter(description = "the nextCursor of the previous page (same filters); absent: the first page")
            @QueryParam("cursor") String cursor,
            @Parameter(description = "not supported: pages follow by cursor (400)") @QueryParam("page") String page,
            @Parameter(description = "page size, default 20, at most 200") @QueryParam("size") String size) {
        BackupQuery query = BackupQueryParams.parse(sourceId, status, type, from, to, page, cursor, size);
        return queries.list(query).map(result -> BackupPageView.of(query, result));
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    @Operation(summary = "One backup with its location and its event history (oldest first)")
    @APIResponse(responseCode = "200", description = "the backup")
    @APIResponse(responseCode = "404", description = "no such backup",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<BackupView> get(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN, message = Ids.UUID_MESSAGE) String id) {
        return queries.history(id).map(BackupView::of);
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/progress")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Blocking
    @Operation(summary = "Live progress of a backup as server-sent events: 'progress' events (JSON: backupId, status, "
            + "phase, bytesDone, bytesTotal, percent, rateBytesPerSecond, etaSeconds, at) while it runs, then one "
            + "'done' event with the backup as GET /backups/{id} shows it, and the stream ends; a finished backup gets "
            + "'done' at once. An 'error' event ends a stream still open at the deadline; comments every 15 s keep "
            + "it alive")
    @APIResponse(responseCode = "200", description = "the event stream")
    @APIResponse(responseCode = "404", description = "no such backup",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Multi<OutboundSseEvent> progress(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN,
            message = Ids.UUID_MESSAGE) String id, @Context Sse sse) {
        return events(progress, id, sse);
    }

    /**
     * The progress stream of backup {@code id} as server-sent events; {@link ProblemException} 404 when there is no
     * such backup. Shared with the dashboard's copy of the stream ({@code /ui/backups/{id}/progress}).
     */
    public static Multi<OutboundSseEvent> events(BackupProgressStream progress, String id, Sse sse) {
        Backup first = progress.current(id);
        if (first == null) {
            throw ProblemException.notFound("backup", id);
        }
        return progress.follow(first).map(item -> switch (item) {
            case BackupProgressStream.Progress p -> sse.newEventBuilder().name("progress")
                    .mediaType(MediaType.APPLICATION_JSON_TYPE).data(p).build();
            case BackupProgressStream.Done d -> sse.newEventBuilder().name("done")
                    .mediaType(MediaType.APPLICATION_JSON_TYPE).data(BackupView.of(d.backup())).build();
            case BackupProgressStream.Failed f -> sse.newEventBuilder().name("error")
                    .mediaType(MediaType.APPLICATION_JSON_TYPE)
                    .data(new Problem("about:blank", "Gateway Timeout", 504, f.detail(), null, null)).build();
            case BackupProgressStream.Heartbeat h -> sse.newEventBuilder().comment("heartbeat").build();
        });
    }
}
