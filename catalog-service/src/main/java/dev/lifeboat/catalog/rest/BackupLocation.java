package dev.lifeboat.catalog.rest;

import dev.lifeboat.catalog.domain.Backup;

/** Where the backup's archive and manifest are in object storage. */
public record BackupLocation(String bucket, String objectKey, String manifestKey, String uri) {

    static BackupLocation of(Backup b) {
        if (b.bucket == null || b.objectKey == null) {
            return null;
        }
        return new BackupLocation(b.bucket, b.objectKey, b.manifestKey, "s3://" + b.bucket + "/" + b.objectKey);
    }
}
