package dev.lifeboat.repository.snapshot;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one backup holds: every file with its chunks in order. Stored as JSON at
 * {@code <prefix>/chains/<chainId>/manifests/<backupId>.json}, written after all of its chunks: a backup without a
 * manifest does not exist. A manifest lists all of its chunks (not only those it uploaded), so it restores on its
 * own plus its chain's chunk store.
 *
 * @param parentBackupId the backup this one was taken against: null for FULL, the chain's newest backup for
 *                       INCREMENTAL, the chain's FULL for DIFFERENTIAL
 * @param sealedTables   {@link TableFingerprints} of the backed-up database as JSON, sealed with the repository's
 *                       data key and bound to this backup (base64); null when none were recorded. Read them with
 *                       {@link Repository#tableFingerprints(Manifest)}
 * @param physical       for a physical base backup (one file {@code base.tar}, pg_basebackup's tar stream of the
 *                       whole cluster with the WAL it needs): where it starts and ends in the WAL; null for a
 *                       logical backup and in manifests written before physical backups existed
 */
public record Manifest(int formatVersion, String backupId, String chainId, BackupType type, String parentBackupId,
                       Instant createdAt, List<FileEntry> files, Stats stats, String sealedTables, Physical physical) {
    public static final int FORMAT_VERSION = 1;

    /** The one file of a physical base backup: pg_basebackup's tar stream ({@code -Ft -X fetch}). */
    public static final String BASE_TAR = "base.tar";

    /** A manifest from the bytes of its stored object; {@code what} names it in the error when they do not parse. */
    public static Manifest parse(byte[] stored, String what) {
        return Json.read(stored, Manifest.class, what);
    }

    public Manifest {
        files = List.copyOf(files);
    }

    public Manifest(int formatVersion, String backupId, String chainId, BackupType type, String parentBackupId,
                    Instant createdAt, List<FileEntry> files, Stats stats, String sealedTables) {
        this(formatVersion, backupId, chainId, type, parentBackupId, createdAt, files, stats, sealedTables, null);
    }

    public Manifest(int formatVersion, String backupId, String chainId, BackupType type, String parentBackupId,
                    Instant createdAt, List<FileEntry> files, Stats stats) {
        this(formatVersion, backupId, chainId, type, parentBackupId, createdAt, files, stats, null, null);
    }

    /**
     * Where a physical base backup sits in the source cluster's WAL: recovery starts at {@code startLsn} on
     * {@code timeline} (segment {@code startWalSegment}) and is consistent once it has replayed up to
     * {@code stopLsn}.
     *
     * @param systemIdentifier the cluster's database system identifier (pg_control), unsigned, in decimal: WAL of
     *                         another cluster never applies to this backup
     * @param pgVersion        the server's major version (PG_VERSION), which a restore must run
     * @param serverVersion    the server's full version as it reported it
     * @param startTime        START TIME of the backup_label; {@code stopTime}: when pg_basebackup reported the end
     */
    public record Physical(String systemIdentifier, String pgVersion, String serverVersion, int timeline,
                           String startLsn, String stopLsn, String startWalSegment, Instant startTime,
                           Instant stopTime) {
    }

    /** A file, by its path relative to the backed-up directory ('/'-separated), and its chunks in order. */
    public record FileEntry(String path, long size, List<ChunkRef> chunks) {
        public FileEntry {
            chunks = List.copyOf(chunks);
        }
    }

    /** @param size plaintext bytes; @param storedSize bytes of the stored (compressed, encrypted) object */
    public record ChunkRef(String id, int size, int storedSize) {
    }

    /**
     * @param bytesRead      plaintext bytes read from the files
     * @param bytesUploaded  stored bytes this backup uploaded
     * @param chunksTotal    chunk references in the manifest (with repeats)
     * @param chunksUploaded chunks this backup uploaded
     */
    public record Stats(long bytesRead, long bytesUploaded, long chunksTotal, long chunksUploaded) {
        /** bytesRead / bytesUploaded; 0 when nothing was uploaded. */
        public double dedupRatio() {
            return bytesUploaded == 0 ? 0 : (double) bytesRead / bytesUploaded;
        }
    }

    /** Every distinct chunk of this backup, each with the first file that uses it. */
    public Map<ChunkRef, String> distinctChunks() {
        Map<String, ChunkRef> seen = new LinkedHashMap<>();
        Map<ChunkRef, String> out = new LinkedHashMap<>();
        for (FileEntry f : files) {
            for (ChunkRef c : f.chunks()) {
                if (seen.putIfAbsent(c.id(), c) == null) {
                    out.put(c, f.path());
                }
            }
        }
        return out;
    }

    public long totalSize() {
        return files.stream().mapToLong(FileEntry::size).sum();
    }
}
