package dev.lifeboat.scheduler.domain;

import java.util.Optional;

/**
 * What makes a policy's offsite destination acceptable: it names a bucket, and it is a different place from the
 * primary destination. Each policy's repository is {@code <prefix>/<sourceId>} in its bucket, so in one bucket the
 * two prefixes must not be equal or nested (one repository would sit inside the other). Where the primary
 * destination is left to the defaults, the defaults are what is compared.
 */
public final class OffsiteRules {
    private OffsiteRules() {
    }

    /** Why the offsite destination is refused, empty when it is fine. */
    public static Optional<String> problem(String primaryBucket, String primaryPrefix, String offsiteBucket,
                                           String offsitePrefix, String defaultBucket, String defaultPrefix) {
        if (offsiteBucket == null || offsiteBucket.isBlank()) {
            return Optional.of("offsite.bucket is required: the offsite destination is a bucket (and an optional "
                    + "prefix) to copy every completed backup to");
        }
        String bucket = primaryBucket != null ? primaryBucket : defaultBucket;
        if (!bucket.equals(offsiteBucket)) {
            return Optional.empty();
        }
        String primary = normalize(primaryPrefix != null ? primaryPrefix : defaultPrefix);
        String offsite = normalize(offsitePrefix != null ? offsitePrefix : defaultPrefix);
        String where = "s3://" + bucket + "/" + primary;
        if (primary.equals(offsite)) {
            return Optional.of("the offsite destination must differ from the primary destination: both are " + where
                    + "; name another bucket (or at least another prefix)");
        }
        if (nested(primary, offsite) || nested(offsite, primary)) {
            return Optional.of("the offsite destination s3://" + bucket + "/" + offsite
                    + " overlaps the primary destination " + where
                    + " (one prefix contains the other); name another bucket or a prefix outside it");
        }
        return Optional.empty();
    }

    private static boolean nested(String outer, String inner) {
        return outer.isEmpty() || inner.startsWith(outer + "/");
    }

    private static String normalize(String prefix) {
        return prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    }
}
