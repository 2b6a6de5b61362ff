package dev.lifeboat.repository.archive;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.io.output.CountingOutputStream;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.stream.Stream;

/**
 * The single-archive backup format: every file of a dump directory as a POSIX tar, compressed with zstd.
 * Files go in name order so the same directory gives the same archive. Streams end to end: memory does not
 * grow with the dump size.
 */
public final class DumpArchive {
    public static final String FORMAT = "tar+zstd";
    public static final String FILE_NAME = "dump.tar.zst";
    public static final String MANIFEST_NAME = "manifest.json";
    private static final int COPY_BUFFER = 64 * 1024;

    private DumpArchive() {
    }

    /**
     * Writes {@code dir} into {@code out} (which is not closed) and returns the number of uncompressed tar bytes.
     * {@code progress} receives the uncompressed bytes written so far, about once per MiB.
     */
    public static long write(Path dir, OutputStream out, int zstdLevel, LongConsumer progress) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        ZstdOutputStream zstd = new ZstdOutputStream(new NonClosing(out), zstdLevel);
        CountingOutputStream raw = new CountingOutputStream(zstd);
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(raw)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            byte[] buf = new byte[COPY_BUFFER];
            long reported = 0;
            for (Path file : files) {
                // name, size, mode and mtime only: no owner, atime or ctime, so that reading a file does not change its entry
                TarArchiveEntry entry = new TarArchiveEntry(dir.relativize(file).toString().replace('\\', '/'));
                entry.setSize(Files.size(file));
                entry.setMode(0100600);
                entry.setModTime(Files.getLastModifiedTime(file));
                tar.putArchiveEntry(entry);
                try (InputStream in = Files.newInputStream(file)) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        tar.write(buf, 0, n);
                        if (raw.getByteCount() - reported >= 1 << 20) {
                            reported = raw.getByteCount();
                            progress.accept(reported);
                        }
                    }
                }
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
        progress.accept(raw.getByteCount());
        return raw.getByteCount();
    }

    /** Unpacks an archive into {@code target}, refusing entries that would land outside it. */
    public static void extract(InputStream in, Path target) throws IOException {
        Files.createDirectories(target);
        Path root = target.toAbsolutePath().normalize();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new ZstdInputStream(in))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                Path p = root.resolve(e.getName()).normalize();
                if (!p.startsWith(root)) {
                    throw new IOException("archive entry escapes the target directory: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(p);
                } else {
                    Files.createDirectories(p.getParent());
                    Files.copy(tar, p);
                }
            }
        }
    }

    /** The zstd frame must be finished without closing the caller's stream (an upload that still needs commit). */
    private static final class NonClosing extends FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
