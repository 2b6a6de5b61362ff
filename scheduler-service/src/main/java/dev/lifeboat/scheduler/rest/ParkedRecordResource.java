package dev.lifeboat.scheduler.rest;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.security.Actor;
import dev.lifeboat.scheduler.service.ParkedRecordService;
import dev.lifeboat.scheduler.service.ParkedRecordService.HeldRecord;
import dev.lifeboat.scheduler.service.ParkedRecordService.Replayed;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;

import java.util.List;

/**
 * Parked records (valid work an outage held up past the retry window) and dead letters (records a consumer refused):
 * list them (where each came from and why it is held, never its payload: every role reads, as everywhere), and
 * replay one to its origin topic once the cause is fixed (administrators only: a replay makes the platform act again).
 */
@Path("/api/v1/admin/parked")
public class ParkedRecordResource {
    /** Which record to replay: {@code from} is {@code parked} or {@code dead-letter}. */
    public record ReplayOrder(@Pattern(regexp = "parked|dead-letter", message = "must be parked or dead-letter")
                              String from,
                              @NotNull @Min(0) Integer partition,
                              @NotNull @Min(0) Long offset) {
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
        return parked.replay(order.from(), order.partition(), order.offset(), actor.name());
    }
}
