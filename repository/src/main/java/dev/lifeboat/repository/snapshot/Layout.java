package dev.lifeboat.repository.snapshot;

/**
 * Object keys of a repository under {@code prefix}:
 * <pre>
 * keys/repository-key.json                      the wrapped key set
 * index/chains/&lt;chainId&gt;                      one small marker per chain (cheap to list)
 * chains/&lt;chainId&gt;/manifests/&lt;backupId&gt;.json   one per backup, written last
 * chains/&lt;chainId&gt;/chunks/&lt;id[0..2]&gt;/&lt;id&gt;       stored chunks
 * gc/&lt;chainId&gt;.json                            garbage-collection marks of a chain (see GarbageCollector)
 * wal/...                                       archived WAL of a physical source (see WalArchive)
 * wal-retired/&lt;sysid&gt;-&lt;time&gt;/...                an archive of an earlier cluster, moved aside by WalArchive.retire
 * </pre>
 */
public record Layout(String prefix) {
    public Layout {
        prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
    }

    private String base() {
        return prefix.isEmpty() ? "" : prefix + "/";
    }

    public String keyFile() {
        return base() + "keys/repository-key.json";
    }

    public String chainIndex() {
        return base() + "index/chains/";
    }

    public String chainMarker(String chainId) {
        return chainIndex() + chainId;
    }

    /** Everything under every chain: what garbage collection lists to find chains (also those without a marker). */
    public String chainsRoot() {
        return base() + "chains/";
    }

    public String chain(String chainId) {
        return chainsRoot() + chainId + "/";
    }

    public String gcRoot() {
        return base() + "gc/";
    }

    public String gcState(String chainId) {
        return gcRoot() + chainId + ".json";
    }

    public String manifests(String chainId) {
        return chain(chainId) + "manifests/";
    }

    public String manifest(String chainId, String backupId) {
        return manifests(chainId) + backupId + ".json";
    }

    public String chunks(String chainId) {
        return chain(chainId) + "chunks/";
    }

    public String chunk(String chainId, String chunkId) {
        return chunks(chainId) + chunkId.substring(0, 2) + "/" + chunkId;
    }

    /**
     * The repository of source {@code sourceId} under {@code prefix}: {@code <prefix>/<sourceId>}, the prefix's leading
     * and trailing slashes dropped (just the source id when there is none). The one rule snapshot-worker writes by and
     * storage-worker checks a backup's place against.
     */
    public static String repositoryPrefix(String prefix, String sourceId) {
        String p = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        return p.isEmpty() ? sourceId : p + "/" + sourceId;
    }

    /**
     * Whether {@code repositoryPrefix} is the repository of source {@code sourceId} under some prefix: exactly what
     * {@link #repositoryPrefix(String, String)} makes of that prefix and source, so a place named for another source
     * (or a path that only ends in the source's name after a stray slash) is not.
     */
    public static boolean isRepositoryOf(String repositoryPrefix, String sourceId) {
        if (repositoryPrefix == null || sourceId == null || sourceId.isEmpty() || sourceId.contains("/")
                || sourceId.equals(".") || sourceId.equals("..")) {
            return false;
        }
        if (repositoryPrefix.equals(sourceId)) {
            return true;
        }
        if (!repositoryPrefix.endsWith("/" + sourceId)) {
            return false;
        }
        String prefix = repositoryPrefix.substring(0, repositoryPrefix.length() - sourceId.length() - 1);
        return repositoryPrefix.equals(repositoryPrefix(prefix, sourceId));
    }
}
