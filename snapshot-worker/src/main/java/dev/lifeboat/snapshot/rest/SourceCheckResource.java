package dev.lifeboat.snapshot.rest;

import dev.lifeboat.identity.Roles;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.snapshot.domain.SourceReadiness;
import dev.lifeboat.snapshot.service.SourceCheck;
import io.smallrye.common.annotation.Blocking;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

import java.util.NoSuchElementException;
import java.util.regex.Pattern;

/** Whether this worker can back up a source now, asked of the worker because only it holds the credentials. */
@Path("/api/v1/sources/{sourceId}/check")
public class SourceCheckResource {
    private static final Pattern SOURCE_ID = Pattern.compile(dev.lifeboat.contracts.Ids.NAME);

    private final SourceCheck check;

    public SourceCheckResource(SourceCheck check) {
        this.check = check;
    }

    @RolesAllowed({Roles.OPERATOR, Roles.ADMIN})
    @POST
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    @Operation(summary = "Check that the source can be backed up now",
            description = "Connects to the registered source as its user, with the credentials its references resolve "
                    + "to on this worker, and reports: status READY, MISSING or UNREACHABLE (with the reason: DNS, "
                    + "REFUSED, TIMEOUT, TLS, AUTHENTICATION_FAILED, NO_DATABASE, CREDENTIALS); the server's version "
                    + "and database size; the pg_dump/pg_restore (logical) or pg_basebackup (physical) this worker "
                    + "would run; and each privilege or setting the source's method needs that is missing, with the "
                    + "GRANT or setting that fixes it. Reads only; answered 200 whatever the status, 429 with "
                    + "Retry-After when this worker is already running as many checks as it allows.")
    public SourceReadiness check(@PathParam("sourceId") String sourceId) {
        if (sourceId == null || !SOURCE_ID.matcher(sourceId).matches()) {
            throw ProblemException.badRequest("sourceId " + dev.lifeboat.contracts.Ids.NAME_MESSAGE);
        }
        try {
            return check.check(sourceId);
        } catch (NoSuchElementException e) {
            throw new ProblemException(404, "Not Found", e.getMessage());
        }
    }
}
