package dev.lifeboat.repository.snapshot;

import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.content.ChunkIntegrityException;
import dev.lifeboat.repository.content.ContentCodec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Reads one chunk of a backup and proves it: stored size, authentication tag, plaintext hash and size. */
final class ChunkFetcher {
    private ChunkFetcher() {
    }

    static byte[] fetch(Repository repo, Manifest manifest, String file, Manifest.ChunkRef ref) {
        String key = repo.layout().chunk(manifest.chainId(), ref.id());
        byte[] stored;
        if (ref.storedSize() < 0 || ref.storedSize() > ContentCodec.MAX_STORED) {
            // the manifest's word alone must not size what is allocated: no chunk this codec writes is larger
            throw new CorruptChunkException(manifest.backupId(), file, ref.id(), "the manifest gives a stored size of "
                    + ref.storedSize() + " bytes, over the " + ContentCodec.MAX_STORED + " bytes a chunk can have", null);
        }
        if (ref.size() < 0 || ref.size() > ContentCodec.MAX_PLAINTEXT) {
            throw new CorruptChunkException(manifest.backupId(), file, ref.id(), "the manifest gives a size of "
                    + ref.size() + " bytes, over the " + ContentCodec.MAX_PLAINTEXT + " bytes a chunk can have", null);
        }
        try (InputStream in = repo.store().open(repo.bucket(), key)) {
            // one byte more than the manifest says, never the whole object: a chunk replaced in the bucket by a large
            // object is refused after that byte instead of being read into memory
            stored = in.readNBytes(ref.storedSize() + 1);
        } catch (ObjectNotFoundException e) {
            throw new CorruptChunkException(manifest.backupId(), file, ref.id(), "missing (" + key + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException("backup " + manifest.backupId() + ", file " + file + ", chunk " + ref.id()
                    + ": cannot read " + key + ": " + e.getMessage(), e);
        }
        if (stored.length != ref.storedSize()) {
            throw new CorruptChunkException(manifest.backupId(), file, ref.id(), (stored.length > ref.storedSize()
                    ? "stored size larger than" : "stored size " + stored.length + " bytes but")
                    + " the manifest says " + ref.storedSize(), null);
        }
        byte[] plain;
        try {
            plain = repo.codec().decode(ref.id(), stored);
        } catch (ChunkIntegrityException e) {
            throw new CorruptChunkException(manifest.backupId(), file, ref.id(), e.problem(), e);
        }
        if (plain.length != ref.size()) {
            throw new CorruptChunkException(manifest.backupId(), file, ref.id(), "decodes to " + plain.length
                    + " bytes but the manifest says " + ref.size(), null);
        }
        return plain;
    }
}
