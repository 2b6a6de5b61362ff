package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * File operations in a directory that another OS user owns (a restored cluster's data and work directories belong to
 * the user PostgreSQL runs as, and what runs in that cluster is the source's): never through a symbolic link that
 * user may have put, or swapped in, under the name. A root worker that wrote, read, chmod-ed or chown-ed through one
 * would do it to any file of the host.
 */
final class NoFollow {
    private NoFollow() {
    }

    /** Replaces whatever is at {@code file} (a link itself, never its target) with a new file of {@code content}. */
    static void writeFresh(Path file, byte[] content) throws IOException {
        writeFresh(file, content, "rw-------");
    }

    /**
     * As {@link #writeFresh(Path, byte[])}, the new file made with {@code permissions} ("rwxr-xr-x", less the
     * process's umask). The mode is given when the file is made: a chmod afterwards, even one asked not to follow
     * links, follows one on Linux.
     */
    static void writeFresh(Path file, byte[] content, String permissions) throws IOException {
        Files.deleteIfExists(file);
        try (SeekableByteChannel ch = Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions)))) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
    }

    /**
     * The file's bytes when it is a regular file of at most {@code max} bytes; empty when it is larger. Throws when
     * it is a link or not a regular file. {@code file}'s directory must be one the cluster's OS user cannot replace
     * (a directory of the worker's, or the data directory itself, whose parent is the worker's); below it, use
     * {@link #read(Path, Path, int)}.
     */
    static Optional<byte[]> read(Path file, int max) throws IOException {
        Path abs = file.toAbsolutePath();
        return read(abs.getParent(), abs.getFileName(), max);
    }

    /**
     * As {@link #read(Path, int)} for {@code relative} below {@code dir}: every directory on the way is opened
     * relative to the one before and never through a link, so a directory of the cluster's OS user swapped for a link
     * (to /root, say) is refused rather than followed.
     */
    static Optional<byte[]> read(Path dir, Path relative, int max) throws IOException {
        return withFile(dir, relative, ch -> {
            byte[] bytes = java.nio.channels.Channels.newInputStream(ch).readNBytes(max + 1);
            return bytes.length > max ? Optional.<byte[]>empty() : Optional.of(bytes);
        });
    }

    /** The last {@code max} bytes (at most) of the regular file {@code file}, read as {@link #read(Path, int)}. */
    static byte[] tail(Path file, int max) throws IOException {
        Path abs = file.toAbsolutePath();
        return withFile(abs.getParent(), abs.getFileName(), ch -> {
            long size = ch.size();
            long from = Math.max(0, size - max);
            ByteBuffer buf = ByteBuffer.allocate((int) (size - from));
            while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
                // until the end as it was when opened
            }
            byte[] bytes = new byte[buf.position()];
            buf.flip().get(bytes);
            return bytes;
        });
    }

    /** {@code length} bytes at {@code offset} of the regular file {@code relative} below {@code dir}, or fewer. */
    static byte[] readAt(Path dir, Path relative, long offset, int length) throws IOException {
        return withFile(dir, relative, ch -> {
            ByteBuffer buf = ByteBuffer.allocate(length);
            while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) > 0) {
                // a few bytes at a fixed offset: one call in practice
            }
            byte[] bytes = new byte[buf.position()];
            buf.flip().get(bytes);
            return bytes;
        });
    }

    /**
     * Refuses to go on with a file that has more than one name: handing a hard link to another user hands over the
     * file under its other names too (/etc/shadow, say). The worker hands over only what it wrote in a tree no one
     * else can reach yet; this is the check that it still is so.
     */
    static void requireSingleLink(Path p) throws IOException {
        Object links = Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS);
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && links instanceof Integer n && n > 1) {
            throw new IOException(p + " has " + n + " names (hard links); it is not handed to another user");
        }
    }

    /** How long opening a file that was a regular file an instant before may take before it is given up. */
    static final java.time.Duration OPEN_DEADLINE = java.time.Duration.ofSeconds(5);

    interface ChannelReader<T> {
        T read(FileChannel ch) throws IOException;
    }

    /**
     * Opens the regular file {@code relative} below {@code dir} for reading and hands it to {@code reader}. Every
     * directory on the way is opened without following a link, the file is looked at (never through a link) before
     * it is opened and must be a regular file then: opening a FIFO the cluster's OS user put under the name would
     * wait for a writer forever. One swapped in between the look and the open is caught by the open's deadline
     * (the waiting open is then released by opening the FIFO once more, read and write, which never waits on Linux)
     * and by the opened channel's refusal to seek, which only a regular file accepts.
     */
    static <T> T withFile(Path dir, Path relative, ChannelReader<T> reader) throws IOException {
        Path rel = dir.getFileSystem().getPath("").resolve(relative.toString()).normalize();
        if (rel.isAbsolute() || rel.getNameCount() == 0 || rel.getName(0).toString().equals("..")) {
            throw new IOException(relative + " is not a path below " + dir);
        }
        try (DirectoryStream<Path> top = Files.newDirectoryStream(dir)) {
            if (!(top instanceof SecureDirectoryStream<Path> secure)) {
                throw new IOException("this file system cannot read below " + dir + " without following links");
            }
            return withFile(secure, dir, rel, 0, reader);
        }
    }

    private static <T> T withFile(SecureDirectoryStream<Path> at, Path dir, Path rel, int index,
                                  ChannelReader<T> reader) throws IOException {
        Path name = rel.getName(index);
        BasicFileAttributes attrs = at.getFileAttributeView(name, BasicFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS).readAttributes();
        Path shown = dir.resolve(rel.subpath(0, index + 1));
        if (index < rel.getNameCount() - 1) {
            if (!attrs.isDirectory()) {
                throw new IOException(shown + " is not a directory (a link is never followed)");
            }
            try (SecureDirectoryStream<Path> sub = at.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                return withFile(sub, dir, rel, index + 1, reader);
            }
        }
        if (!attrs.isRegularFile()) {
            throw new IOException(shown + " is not a regular file");
        }
        // a hard link to a file of root's (/etc/shadow) put there by the directory's owner would be read as theirs
        if (Files.getAttribute(shown, "unix:nlink", LinkOption.NOFOLLOW_LINKS) instanceof Integer n && n > 1) {
            throw new IOException(shown + " has " + n + " names (hard links); it is not read");
        }
        try (FileChannel ch = openWithin(at, name, shown)) {
            try {
                ch.position(0);
            } catch (IOException e) {
                throw new IOException(shown + " is not a regular file (it cannot seek)", e);
            }
            return reader.read(ch);
        }
    }

    private static FileChannel openWithin(SecureDirectoryStream<Path> at, Path name, Path shown) throws IOException {
        java.util.concurrent.CompletableFuture<FileChannel> open = new java.util.concurrent.CompletableFuture<>();
        Thread opener = Thread.ofPlatform().daemon().name("nofollow-open").start(() -> {
            try {
                FileChannel ch = (FileChannel) at.newByteChannel(name, Set.of(StandardOpenOption.READ,
                        LinkOption.NOFOLLOW_LINKS));
                if (!open.complete(ch)) {
                    ch.close();
                }
            } catch (IOException | RuntimeException e) {
                open.completeExceptionally(e);
            }
        });
        try {
            return open.get(OPEN_DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            open.cancel(false);
            // a FIFO put there after the look: the waiting open returns once a writer opens it
            try (java.nio.channels.SeekableByteChannel release = at.newByteChannel(name, Set.of(
                    StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS))) {
                opener.join(1000);
            } catch (IOException | InterruptedException ignored) {
                // the opener stays waiting: a daemon thread
            }
            throw new IOException(shown + " did not open within " + OPEN_DEADLINE + "; it is not a regular file");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted opening " + shown, e);
        }
    }

    /**
     * Removes {@code root} and everything below it, never following a link: each directory is opened without
     * following one ({@link SecureDirectoryStream}), and its entries are removed relative to it, so a directory
     * swapped for a link meanwhile is removed as the link it now is.
     */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path parent = root.toAbsolutePath().getParent();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(parent)) {
            if (!(stream instanceof SecureDirectoryStream<Path> secure)) {
                throw new IOException("this file system cannot remove " + root + " without following links");
            }
            Path name = root.getFileName();
            if (secure.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes().isDirectory()) {
                try (SecureDirectoryStream<Path> dir = secure.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                    empty(dir);
                }
                secure.deleteDirectory(name);
            } else {
                secure.deleteFile(name);
            }
        }
    }

    private static void empty(SecureDirectoryStream<Path> dir) throws IOException {
        List<Path> names = new ArrayList<>();
        for (Path entry : dir) {
            names.add(entry.getFileName());
        }
        for (Path name : names) {
            BasicFileAttributes attrs = dir.getFileAttributeView(name, BasicFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS).readAttributes();
            if (attrs.isDirectory()) {
                try (SecureDirectoryStream<Path> sub = dir.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
                    empty(sub);
                }
                dir.deleteDirectory(name);
            } else {
                dir.deleteFile(name);
            }
        }
    }

}
