package dev.lifeboat.snapshot.rest;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.repository.wal.ForeignClusterException;
import dev.lifeboat.repository.wal.WalArchive;
import dev.lifeboat.snapshot.archiver.WalArchiver;
import io.smallrye.common.annotation.Blocking;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.NoSuchElementException;
import java.util.regex.Pattern;

/** The administrator's way out when a source's WAL archive belongs to another PostgreSQL cluster than its server. */
@Path("/api/v1/sources/{sourceId}/wal-archive")
public class WalArchiveResource {
    private static final Pattern SOURCE_ID = Pattern.compile(dev.lifeboat.contracts.Ids.NAME);
    private static final Pattern SYSTEM_IDENTIFIER = Pattern.compile("[0-9]{1,20}");

    private final WalArchiver archiver;

    public WalArchiveResource(WalArchiver archiver) {
        this.archiver = archiver;
    }

    @RolesAllowed(Roles.ADMIN)
    @POST
    @Path("/retire")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    @Operation(summary = "Move the source's WAL archive aside and start a new one",
            description = "For a source whose server is now another PostgreSQL cluster than the one its archive "
                    + "holds WAL of (the archiver refuses it, state REFUSED): moves every object of the archive to "
                    + "wal-retired/<systemIdentifier>-<time>/ of the same repository (copied, then deleted; nothing "
                    + "else is deleted) and returns where it went. systemIdentifier must be the archive's cluster, "
                    + "as the refusal names it: 409 otherwise. Restores of the old cluster's base backups still find "
                    + "its WAL there. The archiver owning the source starts the new archive at its next attempt.")
    public WalArchive.Retired retire(@PathParam("sourceId") String sourceId,
                                     @QueryParam("systemIdentifier") String systemIdentifier) {
        if (sourceId == null || !SOURCE_ID.matcher(sourceId).matches()) {
            throw ProblemException.badRequest("sourceId " + dev.lifeboat.contracts.Ids.NAME_MESSAGE);
        }
        if (systemIdentifier == null || !SYSTEM_IDENTIFIER.matcher(systemIdentifier).matches()
                || !fitsUnsignedLong(systemIdentifier)) {
            throw ProblemException.badRequest("systemIdentifier is required: the system identifier (a decimal number) "
                    + "of the cluster the archive belongs to, as the archiver's refusal names it");
        }
        try {
            return archiver.retire(sourceId, systemIdentifier);
        } catch (ForeignClusterException e) {
            throw ProblemException.conflict(e.getMessage());
        } catch (NoSuchElementException e) {
            throw new ProblemException(404, "Not Found", e.getMessage());
        }
    }

    private static boolean fitsUnsignedLong(String digits) {
        try {
            Long.parseUnsignedLong(digits);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
