package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
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
     * it is a link or not a regular file.
     */
    static Optional<byte[]> read(Path file, int max) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException(file + " is not a regular file");
            }
            byte[] bytes = in.readNBytes(max + 1);
            return bytes.length > max ? Optional.empty() : Optional.of(bytes);
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
