package dev.lifeboat.scheduler.rest;

import com.fasterxml.jackson.annotation.JsonAnySetter;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.rest.Problem;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.kit.security.Actor;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.scheduler.service.ParkedRecordService.BulkReplayed;
import dev.lifeboat.scheduler.service.ParkedRecordService.HeldRecord;
import dev.lifeboat.scheduler.service.ParkedRecordService.Replayed;
import dev.lifeboat.scheduler.service.ParkedRecordService.Selection;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Parked records (valid work an outage held up past the retry window) and dead letters (records a consumer refused):
 * list them (where each came from and why it is held, never its payload: every role reads, as everywhere), and
 * replay one to its origin topic once the cause is fixed, or all those a filter selects (administrators only: a replay
 * makes the platform act again). Every replay is remembered: a record replayed before is not replayed again unless
 * the order says {@code force} (one record) and is skipped by a bulk replay. Only a held record equal to the record at
 * the origin place it names is replayed (any principal may write the holding topics); others are refused with 422, or
 * skipped in bulk, saying why.
 */
@Path("/api/v1/admin/parked")
public class ParkedRecordResource {
    /**
     * Which record to replay: {@code from} is {@code parked} or {@code dead-letter}; {@code force} replays a record
     * that was replayed before (refused with 409 otherwise).
     */
    public record ReplayOrder(@Pattern(regexp = "parked|dead-letter", message = "must be parked or dead-letter")
                              String from,
                              @NotNull @Min(0) Integer partition,
                              @NotNull @Min(0) Long offset,
                              Boolean force) {
    }

    /**
     * Which held records to replay at once: the filters are optional and all must match ({@code reasonContains}
     * ignores case; {@code heldAfter} inclusive, {@code heldBefore} exclusive). A field this order does not know is
     * refused, so that a misspelt filter never widens a replay to everything held. {@code dryRun} left out is a dry
     * run: only {@code "dryRun": false} sends anything, so that an order posted bare ({@code {}}) lists what would
     * go and replays nothing.
     */
    public record BulkReplayOrder(
            @Pattern(regexp = "parked|dead-letter", message = "must be parked or dead-letter") String from,
            @Size(min = 1, max = 249) @Pattern(regexp = "[a-zA-Z0-9._-]+",
                    message = "must be a Kafka topic name (letters, digits, . _ -)") String originTopic,
            @Size(min = 1, max = 500) String reasonContains,
            Instant heldAfter,
            Instant heldBefore,
            @Min(1) @Max(1000) Integer limit,
            @Schema(description = "true or left out: list what would be replayed, send nothing; false: replay")
            Boolean dryRun,
            @Schema(hidden = true) @JsonAnySetter
            @Size(max = 0, message = "unknown field; allowed: from, originTopic, reasonContains, heldAfter,"
                    + " heldBefore, limit, dryRun") Map<String, Object> unknown) {
    }

    /**
     * The answer of a bulk replay that stopped part-way: problem+json (RFC 9457) whose extension members say what
     * was replayed until then.
     */
    public record BulkReplayStopped(String type, String title, int status, String detail, String instance,
                                    List<ParkedRecordService.BulkEntry> replayed,
                                    List<ParkedRecordService.Skipped> skipped, int skippedCount, int remaining) {
    }

    @Inject
    ParkedRecordService parked;
    @Inject
    Actor actor;

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    public List<HeldRecord> list(@QueryParam("from") @DefaultValue("parked")
                                 @Pattern(regexp = "parked|dead-letter", message = "must be parked or dead-letter")
                                 String from,
                                 @QueryParam("limit") @DefaultValue("100") @Min(1) @Max(1000) int limit) {
        return parked.list(from, limit);
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    @Path("replay")
    public Replayed replay(@Valid @NotNull ReplayOrder order) {
        return parked.replay(order.from(), order.partition(), order.offset(), actor.name(),
                Boolean.TRUE.equals(order.force()));
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    @Path("replay-all")
    @APIResponse(responseCode = "200", description = "every matching record not replayed yet was replayed (or, in a"
            + " dry run, would be), up to the limit",
            content = @Content(schema = @Schema(implementation = BulkReplayed.class)))
    @APIResponse(responseCode = "503", description = "stopped part-way: what was replayed until then and why",
            content = @Content(mediaType = Problem.MEDIA_TYPE,
                    schema = @Schema(implementation = BulkReplayStopped.class)))
    public Response replayAll(@Valid @NotNull BulkReplayOrder order, @Context UriInfo uri) {
        if (order.heldAfter() != null && order.heldBefore() != null
                && !order.heldAfter().isBefore(order.heldBefore())) {
            throw new ProblemException(400, "Invalid request", "heldAfter (" + order.heldAfter()
                    + ") must be before heldBefore (" + order.heldBefore() + ")");
        }
        BulkReplayed done = parked.replayAll(new Selection(order.from(), order.originTopic(), order.reasonContains(),
                order.heldAfter(), order.heldBefore(), order.limit() == null ? 100 : order.limit(),
                !Boolean.FALSE.equals(order.dryRun())), actor.name());
        if (done.complete()) {
            return Response.ok(done).build();
        }
        return Response.status(503).type(Problem.MEDIA_TYPE).entity(new BulkReplayStopped("about:blank",
                "Bulk replay stopped part-way", 503, (done.dryRun() ? "would replay " : "replayed ")
                + done.replayed().size() + " record(s), then stopped: " + done.stoppedBecause(), uri.getPath(), done.replayed(), done.skipped(), done.skippedCount(),
                done.remaining())).build();
    }
}
