package dev.lifeboat.snapshot.service;

import dev.lifeboat.contracts.recovery.BackupLocation;
import dev.lifeboat.repository.blob.ObjectTooLargeException;
import dev.lifeboat.repository.snapshot.Layout;
import dev.lifeboat.repository.snapshot.Manifest;
import dev.lifeboat.repository.snapshot.ManifestMismatchException;
import dev.lifeboat.repository.snapshot.Repository;
import dev.lifeboat.snapshot.domain.CommandFailure;
import dev.lifeboat.snapshot.domain.TransientFailure;

/**
 * What the restores check of the backup location a command names, since neither the command nor the bucket is
 * trusted: before anything is read, that the location is its source's repository ({@link Layout#isRepositoryOf}, the
 * rule backups are written by) and carries the manifest's sealed SHA-256; then that the manifest read is the one
 * sealed, naming this backup and chain ({@link Repository#sealedManifest}). storage-worker fills the hash from its
 * sealed record in every location it prepares, so a location without it is refused, not read unchecked.
 */
final class SealedLocations {
    private SealedLocations() {
    }

    /** {@link CommandFailure} unless {@code backup} names a place in its own source's repository and its sealed hash. */
    static void check(String command, BackupLocation backup) {
        if (!Layout.isRepositoryOf(backup.repositoryPrefix(), backup.sourceId())) {
            throw new CommandFailure(command + " names backup " + backup.backupId() + " of source "
                    + backup.sourceId() + " in repository s3://" + backup.bucket() + "/" + backup.repositoryPrefix()
                    + ", which is not the repository of source " + backup.sourceId() + " (<prefix>/"
                    + backup.sourceId() + "); refused, nothing read");
        }
        if (backup.manifestSha256() == null || backup.manifestSha256().isBlank()) {
            throw new CommandFailure(command + " names backup " + backup.backupId() + " without its manifest's "
                    + "sealed SHA-256 (a location prepared by an older storage-worker); refused, nothing read: run "
                    + "the plan again to have the backup prepared anew");
        }
    }

    /** The manifest of {@code backup} as sealed; {@link CommandFailure} naming the mismatch when it is not. */
    static Manifest manifest(Repository repository, BackupLocation backup) {
        String key = repository.layout().manifest(backup.chainId(), backup.backupId());
        try {
            return repository.sealedManifest(backup.chainId(), backup.backupId(), backup.manifestSha256())
                    .orElseThrow(() -> new CommandFailure("manifest s3://" + repository.bucket() + "/" + key
                            + " of backup " + backup.backupId() + " does not exist"));
        } catch (ManifestMismatchException | ObjectTooLargeException e) {
            throw new CommandFailure("backup " + backup.backupId() + " cannot be restored: " + e.getMessage(), e);
        } catch (CommandFailure e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TransientFailure("cannot read manifest s3://" + repository.bucket() + "/" + key + ": "
                    + e.getMessage(), e);
        }
    }
}
