package dev.lifeboat.storage.api;

import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.storage.service.GarbageCollectionService;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.List;

/** One garbage-collection pass now, over every repository this worker knows or over one of them. */
@Path("/api/v1/gc")
public class GarbageCollectionResource {
    private final GarbageCollectionService gc;

    public GarbageCollectionResource(GarbageCollectionService gc) {
        this.gc = gc;
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    @Operation(summary = "Run one garbage-collection pass now",
            description = "Marks unreferenced chunks and deletes those marked longer than the grace period ago, "
                    + "plus chains left without backups, and the archived WAL before the start of the oldest "
                    + "physical base backup left (never WAL younger than lifeboat.gc.wal-min-age; all of it when "
                    + "there is no physical base backup). Without parameters: every repository of a backup this "
                    + "worker sealed; with bucket (and prefix): that repository only.")
    public GarbageCollectionService.Run run(@QueryParam("bucket") String bucket, @QueryParam("prefix") String prefix) {
        if (bucket != null && !bucket.isBlank()) {
            return gc.collect(List.of(new GarbageCollectionService.Location(bucket, prefix == null ? "" : prefix)));
        }
        return gc.collectAll();
    }
}
