package dev.lifeboat.recovery.rest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lifeboat.identity.Roles;
import dev.lifeboat.recovery.domain.TargetServer;
import dev.lifeboat.recovery.service.TargetService;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.List;

/** Target servers: where plans may restore. Registering one is an admin's decision. */
@Path("/api/v1/targets")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class TargetResource {
    private final TargetService targets;
    private final SecurityIdentity identity;

    public TargetResource(TargetService targets, SecurityIdentity identity) {
        this.targets = targets;
        this.identity = identity;
    }

    @GET
    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    @Operation(summary = "List registered target servers, by name")
    public List<TargetServer> list() {
        return targets.list();
    }

    @GET
    @Path("{name}")
    @RolesAllowed({Roles.VIEWER, Roles.OPERATOR, Roles.ADMIN})
    public TargetServer get(@PathParam("name") String name) {
        return targets.get(name);
    }

    @PUT
    @Path("{name}")
    @RolesAllowed(Roles.ADMIN)
    @Operation(summary = "Register or replace a target server",
            description = "Body {host, port, user, passwordRef, databasePattern} for a database server, or {kind: "
                    + "\"cluster\", dataRoot, ports: \"first-last\"} for where point-in-time restores create new "
                    + "clusters. 201 when created, 200 when "
                    + "replaced; 400 lists every invalid field. Plans are checked against it again at run start.")
    public Response put(@PathParam("name") String name, JsonNode body, @Context UriInfo uri) {
        TargetService.Saved saved = targets.put(name, body, identity.getPrincipal().getName());
        return saved.created() ? Response.created(uri.getAbsolutePath()).entity(saved.target()).build()
                : Response.ok(saved.target()).build();
    }

    @DELETE
    @Path("{name}")
    @RolesAllowed(Roles.ADMIN)
    @Operation(summary = "Remove a target server", description = "409 naming the plans that restore into it.")
    public Response delete(@PathParam("name") String name) {
        targets.delete(name);
        return Response.noContent().build();
    }
}
