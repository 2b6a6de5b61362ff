package dev.lifeboat.scheduler.rest;

import dev.lifeboat.contracts.Ids;
import dev.lifeboat.contracts.BackupType;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

/**
 * A backup policy. {@code offsite} is an optional second destination (bucket required, prefix optional) on the same
 * object-store endpoint; it must differ from {@code destination}. {@code maxDuration}: the longest one backup may run
 * before snapshot-worker stops it and reports it FAILED (default {@code lifeboat.policy.default-max-duration}).
 */
public record PolicyRequest(
        @Pattern(regexp = Ids.NAME, message = Ids.NAME_MESSAGE) String id,
        @NotBlank String sourceId,
        @NotNull BackupType type,
        @NotBlank @Size(max = 120) String schedule,
        @Valid Retention retention,
        @Valid Destination destination,
        @Valid Destination offsite,
        @Pattern(regexp = "^P(?!$)(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$",
                message = "must be an ISO-8601 duration such as PT24H or P1D") String rpo,
        @Pattern(regexp = "^P(?!$)(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$",
                message = "must be an ISO-8601 duration such as PT6H or PT30M") String maxDuration,
        Boolean enabled) {

    public record Retention(@Min(0) @Max(10000) Integer daily, @Min(0) @Max(10000) Integer weekly,
                            @Min(0) @Max(10000) Integer monthly) {
    }

    public record Destination(
            @Pattern(regexp = "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", message = "must be a valid S3 bucket name") String bucket,
            @Pattern(regexp = "^[A-Za-z0-9!_.*'()/-]{0,200}$", message = "may hold letters, digits, '/' and !_.*'()- only")
            String prefix) {
    }
}
