package dev.lifeboat.catalog.domain;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.time.Instant;
import java.util.List;

/** One page of the sources the catalog or scheduler-service knows, in id order, at a glance; see GET /api/v1/fleet. */
public record FleetView(
        Instant checkedAt,
        List<Source> sources,
        @Schema(description = "false when scheduler-service did not answer for this page: its sources' RPO verdicts are "
                + "unknown, and sources only scheduler-service knows (a policy, no backup yet) are missing from it")
        boolean policiesKnown,
        @Schema(description = "pass as 'cursor' for the next page; null on the last page")
        String nextCursor) {

    public record Source(
            String sourceId,
            @Schema(description = "logical or physical, as the catalog has seen it (its backups, a WAL archiver's "
                    + "report); null when it has seen neither")
            String method,
            @Schema(description = "the newest restorable backup (as GET /sources/{id}/latest-restorable); null: none")
            LastGoodBackup lastGoodBackup,
            @Schema(description = "the strictest RPO of the source's enabled policies; null when none sets one or "
                    + "scheduler-service did not answer")
            Long rpoSeconds,
            @Schema(description = "as GET /sources/{id}/rpo; null when no enabled policy sets an RPO or "
                    + "scheduler-service did not answer")
            Boolean rpoCompliant,
            String reason,
            @Schema(description = "the earliest next run of the source's enabled policies' schedules (from "
                    + "scheduler-service); null when none is scheduled or scheduler-service did not answer")
            Instant nextScheduledAt,
            @Schema(description = "physical sources: how far the WAL archive trails the server now (the reported lag "
                    + "plus the report's age), as used for the RPO")
            Double archiveLagSeconds,
            LastDrill lastDrill,
            @Schema(description = "the newest conclusive verification of any backup of the source")
            Instant lastVerifiedAt) {
    }

    public record LastGoodBackup(String backupId, Instant completedAt, long ageSeconds, String type) {
    }

    public record LastDrill(String runId, String status, Double rtoSeconds, Long rtoTargetSeconds, Boolean rtoMet,
                            Instant finishedAt) {
    }
}
