package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.security.Actor;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.scheduler.service.SourceService;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Response;

import java.net.URI;
import java.util.List;

@Path("/api/v1/sources")
public class SourceResource {
    @Inject
    SourceService sources;
    @Inject
    Actor actor;

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    public Uni<List<SourceView>> list() {
        return sources.list().map(l -> l.stream().map(SourceView::of).toList());
    }

    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @GET
    @Path("{id}")
    public Uni<SourceView> get(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id) {
        return sources.get(id).map(SourceView::of);
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    public Uni<Response> create(@Valid @NotNull SourceRequest body) {
        return sources.create(body, actor.name()).map(s -> Response.created(URI.create("/api/v1/sources/" + s.id))
                .entity(SourceView.of(s)).build());
    }

    @RolesAllowed(Roles.ADMIN)
    @PUT
    @Path("{id}")
    public Uni<SourceView> put(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id, @Valid @NotNull SourceRequest body) {
        return sources.put(id, body, actor.name()).map(SourceView::of);
    }

    @RolesAllowed(Roles.ADMIN)
    @DELETE
    @Path("{id}")
    public Uni<Response> delete(@PathParam("id") @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id) {
        return sources.delete(id).map(v -> Response.noContent().build());
    }
}
