package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.BackupType;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;

/** An on-demand backup. type defaults to FULL, requestedBy to "http". */
public record BackupOrder(@NotBlank String sourceId, BackupType type, String policyId,
                          @Size(max = 200) String requestedBy) {
}
