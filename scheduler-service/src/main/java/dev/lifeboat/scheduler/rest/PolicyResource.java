package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import dev.lifeboat.kit.rest.ProblemException;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.security.Actor;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.scheduler.service.CronSchedule;
import dev.lifeboat.scheduler.service.PolicyService;
import dev.lifeboat.scheduler.service.RetentionService;
import dev.lifeboat.scheduler.domain.Policy;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Response;

import java.net.URI;
import java.time.Instant;
import java.util.List;

@Path("/api/v1/policies")
public class PolicyResource {
    @Inject
    PolicyService policies;
    @Inject
    RetentionService retention;
    @Inject
    Actor actor;

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Operation(summary = "Policies by id; or of one source (sourceId); or, with 'sources', every policy of the first "
            + "that many source ids after 'afterSourceId', by source id (how catalog-service pages the fleet)")
    public Uni<List<PolicyView>> list(
            @QueryParam("sourceId") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String sourceId,
            @Parameter(description = "with 'sources': start after this source id (absent: from the first)")
            @QueryParam("afterSourceId") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String afterSourceId,
            @Parameter(description = "how many source ids the answer covers, every policy of each (1 to "
                    + MAX_SOURCES_PER_PAGE + ")")
            @QueryParam("sources") @Min(value = 1, message = "must be at least 1")
            @Max(value = MAX_SOURCES_PER_PAGE, message = "must be at most " + MAX_SOURCES_PER_PAGE) Integer sources) {
        if (sources == null && afterSourceId != null) {
            throw ProblemException.badRequest("query parameter 'afterSourceId' needs 'sources' (how many source ids)");
        }
        if (sources != null && sourceId != null) {
            throw ProblemException.badRequest("query parameters 'sourceId' and 'sources' exclude each other");
        }
        Uni<List<Policy>> found = sources == null ? policies.list(sourceId)
                : policies.listBySourcePage(afterSourceId, sources);
        return found.map(l -> l.stream().map(PolicyResource::view).toList());
    }

    /** The most source ids one page of policies covers. */
    static final int MAX_SOURCES_PER_PAGE = 1001;

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    public Uni<PolicyView> get(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id) {
        return policies.get(id).map(PolicyResource::view);
    }

    /** Dry run of the policy's GFS retention: changes nothing. */
    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}/retention")
    public Uni<RetentionView> retention(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id) {
        return retention.preview(id).map(RetentionView::of);
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    public Uni<Response> create(@Valid @NotNull PolicyRequest body) {
        return policies.create(body, actor.name()).map(p -> Response.created(URI.create("/api/v1/policies/" + p.id))
                .entity(view(p)).build());
    }

    @RolesAllowed(Roles.ADMIN)
    @DELETE
    @Path("{id}")
    public Uni<Response> delete(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id) {
        return policies.delete(id).map(v -> Response.noContent().build());
    }

    private static PolicyView view(Policy p) {
        return PolicyView.of(p, p.enabled ? CronSchedule.nextAfter(p.schedule, Instant.now()).orElse(null) : null);
    }
}
