package dev.lifeboat.repository.content;

/** A stored chunk that does not decode to the plaintext its id names: bad tag, bad format, or hash mismatch. */
public class ChunkIntegrityException extends RuntimeException {
    private final String chunkId;

    public ChunkIntegrityException(String chunkId, String what) {
        super("chunk " + chunkId + ": " + what);
        this.chunkId = chunkId;
    }

    public ChunkIntegrityException(String chunkId, String what, Throwable cause) {
        super("chunk " + chunkId + ": " + what, cause);
        this.chunkId = chunkId;
    }

    public String chunkId() {
        return chunkId;
    }

    /** What is wrong, without the chunk id prefix. */
    public String problem() {
        String m = getMessage();
        int i = m.indexOf(": ");
        return i < 0 ? m : m.substring(i + 2);
    }
}
