package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;

/**
 * An on-demand backup. type defaults to FULL. requestedBy is refused when present: the requester is the bearer token's
 * subject (it is a field here only so that a body carrying it gets a clear 400 instead of being silently ignored).
 */
public record BackupOrder(@NotBlank String sourceId, BackupType type, String policyId,
                          @Size(max = 200) String requestedBy) {
}
