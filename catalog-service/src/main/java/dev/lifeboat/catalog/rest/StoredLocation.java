package dev.lifeboat.catalog.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.lifeboat.catalog.domain.Backup;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One place a backup is stored: the primary destination, and the offsite copy where the policy names one.
 * Both are repositories that the same master key opens; {@code manifestKey} is the backup's manifest there.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StoredLocation(
        @Schema(description = "PRIMARY or OFFSITE") String role,
        @Schema(description = "PRIMARY: the backup's status; OFFSITE: PENDING, COPIED, FAILED or DELETED") String state,
        String bucket,
        @Schema(description = "OFFSITE: the repository prefix at the destination") String prefix,
        String manifestKey,
        String uri,
        @Schema(description = "PRIMARY: QUICK_OK, FULL_OK or FAILED; OFFSITE: how the copy was verified there (FULL_OK)")
        String verification,
        @Schema(description = "OFFSITE FAILED: why the copy was not made or not usable") String reason,
        @Schema(description = "OFFSITE: chunks and stored bytes the copy wrote (the rest were there already)")
        Long chunksCopied,
        Long bytesCopied,
        @Schema(description = "OFFSITE: when the copy was made or failed") Instant at) {

    public static final String PRIMARY = "PRIMARY";
    public static final String OFFSITE = "OFFSITE";

    static List<StoredLocation> of(Backup b) {
        List<StoredLocation> out = new ArrayList<>();
        if (b.bucket != null && b.objectKey != null) {
            String key = b.manifestKey != null ? b.manifestKey : b.objectKey;
            out.add(new StoredLocation(PRIMARY, b.status == null ? null : b.status.name(), b.bucket, null, key,
                    "s3://" + b.bucket + "/" + key, b.verification, null, null, null, null));
        }
        if (b.offsiteBucket != null) {
            out.add(new StoredLocation(OFFSITE, b.offsiteState, b.offsiteBucket, b.offsitePrefix,
                    b.offsiteManifestKey,
                    b.offsiteManifestKey == null ? null : "s3://" + b.offsiteBucket + "/" + b.offsiteManifestKey,
                    b.offsiteVerification, b.offsiteReason, b.offsiteChunksCopied, b.offsiteBytesCopied,
                    b.offsiteAt));
        }
        return out;
    }
}
