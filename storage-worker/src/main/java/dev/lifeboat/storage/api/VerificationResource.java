package dev.lifeboat.storage.api;

import dev.lifeboat.contracts.Ids;
import jakarta.validation.constraints.Pattern;
import dev.lifeboat.identity.Roles;
import jakarta.annotation.security.RolesAllowed;
import dev.lifeboat.kit.rest.ProblemException;
import dev.lifeboat.storage.service.FullVerificationService;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Full verification on demand: reads, authenticates and hashes every chunk of one sealed backup. */
@Path("/api/v1/backups")
public class VerificationResource {
    private final FullVerificationService verifier;

    public VerificationResource(FullVerificationService verifier) {
        this.verifier = verifier;
    }

    @RolesAllowed({Roles.OPERATOR, Roles.ADMIN})
    @POST
    @Path("/{backupId}/verify")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    @Operation(summary = "Full verification of a sealed backup",
            description = "Reads every chunk, checks its authentication tag and hash; emits BackupVerified. "
                    + "404 when no sealed (completed, not deleted) chunked backup has this id.")
    public FullVerificationService.Result verify(@PathParam("backupId") @Pattern(regexp = Ids.UUID_PATTERN, message = Ids.UUID_MESSAGE) String backupId) {
        return verifier.verify(verifier.sealedBackup(backupId)
                .orElseThrow(() -> ProblemException.notFound("sealed backup", backupId)));
    }
}
