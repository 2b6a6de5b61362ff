package dev.lifeboat.catalog.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.catalog.domain.ListCursor;
import dev.lifeboat.catalog.domain.RecoveryQuery;
import dev.lifeboat.catalog.domain.RecoveryStatus;
import dev.lifeboat.catalog.service.RecoveryQueries;
import dev.lifeboat.contracts.recovery.RunMode;
import dev.lifeboat.kit.rest.Problem;
import dev.lifeboat.kit.rest.ProblemException;
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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

@Path("/api/v1/recoveries")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "recoveries", description = "Recovery and drill runs, as recorded from the recovery lifecycle events")
public class RecoveryResource {
    private final RecoveryQueries queries;

    public RecoveryResource(RecoveryQueries queries) {
        this.queries = queries;
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(summary = "List recovery and drill runs, newest first (by startedAt, then runId), one page per cursor")
    @APIResponse(responseCode = "200", description = "one page of runs")
    @APIResponse(responseCode = "400", description = "a filter or paging parameter is invalid",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RecoveryPageView> list(
            @Parameter(description = "recovery or drill") @QueryParam("mode") String mode,
            @Parameter(description = "only runs of this plan") @QueryParam("planId") String planId,
            @Parameter(description = "RUNNING, SUCCEEDED, FAILED or COMPENSATED") @QueryParam("status") String status,
            @Parameter(description = "only runs that restored a backup of this source") @QueryParam("sourceId") String sourceId,
            @Parameter(description = "the nextCursor of the previous page (same filters); absent: the first page")
            @QueryParam("cursor") String cursor,
            @Parameter(description = "not supported: pages follow by cursor (400)") @QueryParam("page") String page,
            @Parameter(description = "page size, default 20, at most 200") @QueryParam("size") String size) {
        RecoveryQuery query = parse(mode, planId, status, sourceId, page, cursor, size);
        return queries.list(query).map(result -> RecoveryPageView.of(query, result));
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    @Operation(summary = "One run with its plan steps")
    @APIResponse(responseCode = "200", description = "the run")
    @APIResponse(responseCode = "404", description = "no such run",
            content = @Content(mediaType = Problem.MEDIA_TYPE, schema = @Schema(implementation = Problem.class)))
    public Uni<RecoveryView> get(@PathParam("id") @Pattern(regexp = Ids.UUID_PATTERN, message = Ids.UUID_MESSAGE) String id) {
        return queries.get(id).map(RecoveryView::of);
    }

    /** Parameters arrive as text so a bad value is a 400 naming it; all problems are reported at once. */
    public static RecoveryQuery parse(String mode, String planId, String status, String sourceId, String page,
                                       String cursor, String size) {
        List<String> errors = new ArrayList<>();
        RunMode m = oneOf("mode", mode, RunMode.class, errors);
        RecoveryStatus st = oneOf("status", status, RecoveryStatus.class, errors);
        if (page != null && !page.isBlank()) {
            errors.add(BackupQueryParams.PAGE_REMOVED);
        }
        int pageSize = integer("size", size, RecoveryQuery.DEFAULT_SIZE, 1, RecoveryQuery.MAX_SIZE, errors);
        if (!errors.isEmpty()) {
            throw ProblemException.badRequest(String.join("; ", errors));
        }
        RecoveryQuery filters = new RecoveryQuery(m, blankToNull(planId), st, blankToNull(sourceId), null, pageSize);
        return new RecoveryQuery(m, filters.planId(), st, filters.sourceId(),
                ListCursor.decode(LIST, filters(filters), cursor), pageSize);
    }

    static final String LIST = "recoveries";

    /** The filters a cursor is bound to. */
    static String filters(RecoveryQuery q) {
        return q.mode() + "|" + q.planId() + "|" + q.status() + "|" + q.sourceId();
    }

    private static <E extends Enum<E>> E oneOf(String name, String value, Class<E> type, List<String> errors) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            errors.add("query parameter '" + name + "' must be one of "
                    + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT) + ", got '" + value + "'");
            return null;
        }
    }

    private static int integer(String name, String value, int absent, int min, int max, List<String> errors) {
        if (value == null || value.isBlank()) {
            return absent;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= min && n <= max) {
                return n;
            }
            errors.add("query parameter '" + name + "' must be between " + min + " and " + max + ", got " + n);
        } catch (NumberFormatException e) {
            errors.add("query parameter '" + name + "' must be an integer, got '" + value + "'");
        }
        return absent;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
