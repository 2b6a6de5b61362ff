package dev.lifeboat.repository.archive;

/** Where a backup's objects live in its bucket: {@code <prefix>/<sourceId>/<backupId>/}. */
public final class ArchiveLayout {
    private ArchiveLayout() {
    }

    public static String directory(String prefix, String sourceId, String backupId) {
        String p = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        return (p.isEmpty() ? "" : p + "/") + sourceId + "/" + backupId + "/";
    }

    public static String archiveKey(String prefix, String sourceId, String backupId) {
        return directory(prefix, sourceId, backupId) + DumpArchive.FILE_NAME;
    }

    /** The manifest sits beside the archive it describes. */
    public static String manifestKeyFor(String archiveKey) {
        int slash = archiveKey.lastIndexOf('/');
        return (slash < 0 ? "" : archiveKey.substring(0, slash + 1)) + DumpArchive.MANIFEST_NAME;
    }
}
