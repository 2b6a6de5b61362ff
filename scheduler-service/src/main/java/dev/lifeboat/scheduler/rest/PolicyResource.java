package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
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

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    public Uni<List<PolicyView>> list(@QueryParam("sourceId") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String sourceId) {
        return policies.list(sourceId).map(l -> l.stream().map(PolicyResource::view).toList());
    }

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
        return policies.create(body).map(p -> Response.created(URI.create("/api/v1/policies/" + p.id))
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
