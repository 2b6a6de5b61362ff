package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import dev.lifeboat.snapshot.domain.CommandFailure;

/**
 * Writes tar streams (pg_basebackup's: ustar, GNU long names, pax headers, as Apache Commons Compress reads them) out
 * into a directory tree. Each stream is read once, on the caller's thread; file contents go to a few writer threads
 * as positional writes through a fixed set of buffers, so that reading the stream (fetching and decrypting a backup's
 * chunks) and writing the files overlap, and memory stays the same whatever the size of the archive.
 * <p>
 * The stream is hostile input. An entry is refused, naming it, when its name is absolute or holds {@code ..}, when it
 * would be written through a symbolic link or below a file that an earlier entry made, when it would replace
 * anything that exists, and when it is anything but a regular file, a directory or a symbolic link (hard links,
 * devices and FIFOs are refused). Symbolic links keep their targets as written: pg_tblspc's point outside the data
 * directory, and nothing is ever written through one. Modes are the tar's permission bits (never setuid, setgid or
 * sticky); a directory gets its mode at {@link #finish()}, once everything inside it is written. With an owner (the
 * worker runs as root, PostgreSQL's files belong to its OS user), everything stays the worker's while it is written
 * and goes to the owner at {@link #finish()}, deepest first, the top directory last: no other user can change the
 * tree while the worker writes into it. Nothing is synced to disk: PostgreSQL syncs the data directory when it
 * starts recovery.
 */
final class TarExtractor implements AutoCloseable {
    static final int BUFFER_SIZE = 1 << 20;
    static final int BUFFERS_PER_WRITER = 4;
    private static final int MAX_NAME_SHOWN = 160;

    /** Who the tree is handed to at {@link #finish()}. */
    record Owner(UserPrincipal user, GroupPrincipal group) {
    }

    /**
     * What one archive took: files and bytes written, how long reading the stream waited for a free buffer (the
     * writers behind: the disk, or the page cache, is the limit) and the writers' time in writes, summed over them.
     */
    record Stats(long files, long bytes, long writerWaitNanos, long writeNanos) {
    }

    private final Path root;
    private final Optional<Owner> owner;
    private final Duration writeTimeout;
    private final ExecutorService writers;
    private final int maxBuffers;
    private final BlockingQueue<byte[]> free = new LinkedBlockingQueue<>();
    private int allocated;
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private final LongAdder writeNanos = new LongAdder();
    private final Set<OpenFile> open = ConcurrentHashMap.newKeySet();
    /** Real directories of the tree (the top one, those made here, none a link): entries go only into these. */
    private final Set<Path> directories = new HashSet<>();
    /** Everything made, in order; handed to the owner in reverse. */
    private final List<Path> created = new ArrayList<>();
    private final Map<Path, Integer> directoryModes = new HashMap<>();
    private long writerWaitNanos;

    /**
     * @param root         an existing directory, the only place anything is written
     * @param writerThreads threads writing file contents, each with {@link #BUFFERS_PER_WRITER} buffers of
     *                     {@link #BUFFER_SIZE} bytes
     * @param writeTimeout how long reading the stream may wait for the writers to free a buffer
     */
    TarExtractor(Path root, Optional<Owner> owner, int writerThreads, Duration writeTimeout) {
        this.root = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(this.root, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(this.root + " is not a directory");
        }
        this.owner = owner;
        this.writeTimeout = writeTimeout;
        int threads = Math.max(1, writerThreads);
        this.maxBuffers = threads * BUFFERS_PER_WRITER;
        this.writers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "tar-writer");
            t.setDaemon(true);
            return t;
        });
        directories.add(this.root);
    }

    /**
     * Writes the archive read from {@code in} out into {@code into} (the top directory or one inside it), then
     * reads {@code in} to its end (what follows the archive's end is read, not written: a stream that checks
     * itself at its end does) and waits until every file is written and closed.
     *
     * @param archive names the archive in refusals
     * @throws CommandFailure an entry refused (see the class comment)
     * @throws IOException    the stream is not a tar archive or ends early, or a file cannot be written
     */
    Stats extract(InputStream in, Path into, String archive) throws IOException {
        Path base = into.toAbsolutePath().normalize();
        if (!base.startsWith(root)) {
            throw new IllegalArgumentException(base + " is not inside " + root);
        }
        directories(base, archive, ".");
        long files = 0;
        long bytes = 0;
        long waitedBefore = writerWaitNanos;
        long writtenBefore = writeNanos.sum();
        // not closed: that would close the caller's stream
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            String name = entry.getName();
            Path path = target(base, name, archive);
            if (entry.isDirectory()) {
                if (!path.equals(base)) {
                    directory(path, entry.getMode(), archive, name);
                }
                continue;
            }
            if (path.equals(base)) {
                throw refused(archive, name, "names the directory it is extracted into");
            }
            switch (entry.getLinkFlag()) {
                case TarConstants.LF_NORMAL, TarConstants.LF_OLDNORM, TarConstants.LF_CONTIG,
                     TarConstants.LF_GNUTYPE_SPARSE -> {
                    bytes += file(tar, path, entry.getMode(), archive, name);
                    files++;
                }
                case TarConstants.LF_SYMLINK -> symlink(path, entry.getLinkName(), archive, name);
                case TarConstants.LF_LINK -> throw refused(archive, name, "is a hard link (to '"
                        + shown(entry.getLinkName()) + "'), which a base backup never holds");
                case TarConstants.LF_CHR, TarConstants.LF_BLK -> throw refused(archive, name,
                        "is a device, which a base backup never holds");
                case TarConstants.LF_FIFO -> throw refused(archive, name, "is a FIFO, which a base backup never holds");
                default -> throw refused(archive, name, "is of tar type '" + shown(String.valueOf(
                        (char) entry.getLinkFlag())) + "', neither a file, a directory nor a symbolic link");
            }
        }
        in.transferTo(OutputStream.nullOutputStream());
        awaitWrites();
        return new Stats(files, bytes, writerWaitNanos - waitedBefore, writeNanos.sum() - writtenBefore);
    }

    /** Gives directories their modes and, with an owner, hands everything to it: deepest first, the top last. */
    void finish() throws IOException {
        for (int i = created.size() - 1; i >= 0; i--) {
            Path p = created.get(i);
            Integer mode = directoryModes.get(p);
            if (mode != null) {
                Files.setPosixFilePermissions(p, permissions(mode));
            }
            own(p);
        }
        own(root);
    }

    /** Buffers ever allocated: at most {@link #BUFFERS_PER_WRITER} per writer, whatever was extracted. */
    int buffersAllocated() {
        return allocated;
    }

    @Override
    public void close() {
        writers.shutdownNow();
        try {
            writers.awaitTermination(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (OpenFile f : open) {
            try {
                f.channel.close();
            } catch (IOException ignored) {
                // the tree is being thrown away
            }
        }
    }

    // ---------------------------------------------------------------- entries

    /** Where an entry goes: inside {@code base}, never through {@code ..} or from the file system's top. */
    private static Path target(Path base, String name, String archive) {
        if (name.isEmpty()) {
            throw refused(archive, name, "has no name");
        }
        if (name.startsWith("/")) {
            throw refused(archive, name, "is an absolute path");
        }
        for (String part : name.split("/")) {
            if (part.equals("..")) {
                throw refused(archive, name, "climbs out with '..'");
            }
        }
        Path path;
        try {
            path = base.resolve(name).normalize();
        } catch (InvalidPathException e) {
            throw refused(archive, name, "is not a path name (" + e.getReason() + ")");
        }
        if (!path.startsWith(base)) {
            throw refused(archive, name, "lies outside the directory it is extracted into");
        }
        return path;
    }

    private void directory(Path path, int mode, String archive, String name) throws IOException {
        parent(path, archive, name);
        if (!directories.contains(path)) {
            try {
                Files.createDirectory(path, PosixFilePermissions.asFileAttribute(permissions(0700)));
                created.add(path);
                directories.add(path);
            } catch (FileAlreadyExistsException e) {
                realDirectory(path, archive, name);
            }
        }
        directoryModes.put(path, mode);
    }

    private void symlink(Path path, String linkTarget, String archive, String name) throws IOException {
        parent(path, archive, name);
        if (linkTarget == null || linkTarget.isEmpty()) {
            throw refused(archive, name, "is a symbolic link to nothing");
        }
        try {
            Files.createSymbolicLink(path, Path.of(linkTarget));
        } catch (FileAlreadyExistsException e) {
            throw refused(archive, name, "would replace what an earlier entry made");
        } catch (InvalidPathException e) {
            throw refused(archive, name, "is a symbolic link to no path name (" + e.getReason() + ")");
        }
        created.add(path);
    }

    /** Creates the file and hands its contents to the writers a buffer at a time; returns its size. */
    private long file(TarArchiveInputStream tar, Path path, int mode, String archive, String name) throws IOException {
        parent(path, archive, name);
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (FileAlreadyExistsException e) {
            throw refused(archive, name, "would replace what an earlier entry made");
        }
        created.add(path);
        OpenFile file = new OpenFile(path, channel);
        open.add(file);
        long position = 0;
        try {
            Files.setPosixFilePermissions(path, permissions(mode));
            while (true) {
                byte[] buffer = buffer();
                int n = tar.readNBytes(buffer, 0, buffer.length);
                if (n <= 0) {
                    free.add(buffer);
                    break;
                }
                long at = position;
                position += n;
                file.pending.incrementAndGet();
                writers.execute(() -> write(file, buffer, n, at));
                if (n < buffer.length) {
                    break;
                }
            }
        } finally {
            file.release();
        }
        return position;
    }

    /** The entry's directory: see {@link #directories}. An entry may come before its directory's own. */
    private void parent(Path path, String archive, String name) throws IOException {
        directories(path.getParent(), archive, name);
    }

    /** Makes sure {@code dir} is a real directory of the tree, making what is missing, never through a link. */
    private void directories(Path dir, String archive, String name) throws IOException {
        if (directories.contains(dir)) {
            return;
        }
        Path at = root;
        for (Path part : root.relativize(dir)) {
            at = at.resolve(part);
            if (directories.contains(at)) {
                continue;
            }
            try {
                Files.createDirectory(at, PosixFilePermissions.asFileAttribute(permissions(0700)));
                created.add(at);
                directoryModes.put(at, 0700);
                directories.add(at);
            } catch (FileAlreadyExistsException e) {
                realDirectory(at, archive, name);
            }
        }
    }

    /** Accepts what exists only as a real directory (not a link to one): the tree's own, from an earlier archive. */
    private void realDirectory(Path at, String archive, String name) {
        if (Files.isDirectory(at, LinkOption.NOFOLLOW_LINKS)) {
            directories.add(at);
            return;
        }
        String what = root.relativize(at).toString();
        throw refused(archive, name, "would be written through '" + shown(what.isEmpty() ? "." : what) + "', "
                + (Files.isSymbolicLink(at) ? "a symbolic link" : "which is not a directory"));
    }

    private static CommandFailure refused(String archive, String name, String why) {
        return new CommandFailure("refusing to extract " + archive + ": its entry '" + shown(name) + "' " + why
                + "; nothing of it is kept");
    }

    /** A name from the archive as it may be shown: printable, and not too long. */
    private static String shown(String s) {
        String printable = s.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return printable.length() > MAX_NAME_SHOWN ? printable.substring(0, MAX_NAME_SHOWN) + "..." : printable;
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values();
        // OWNER_READ .. OTHERS_EXECUTE are the bits 0400 .. 0001, in that order
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
    }

    private void own(Path p) throws IOException {
        if (owner.isEmpty()) {
            return;
        }
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        view.setOwner(owner.get().user());
        view.setGroup(owner.get().group());
    }

    // ---------------------------------------------------------------- writers

    /** An open file and the writes it still waits for (plus one while its entry is being read). */
    private final class OpenFile {
        final Path path;
        final FileChannel channel;
        final AtomicInteger pending = new AtomicInteger(1);

        OpenFile(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        void release() {
            if (pending.decrementAndGet() == 0) {
                open.remove(this);
                try {
                    channel.close();
                } catch (IOException e) {
                    failure.compareAndSet(null, new IOException("cannot close " + path + ": " + e.getMessage(), e));
                }
            }
        }
    }

    private void write(OpenFile file, byte[] buffer, int length, long position) {
        try {
            if (failure.get() == null) {
                long start = System.nanoTime();
                ByteBuffer bytes = ByteBuffer.wrap(buffer, 0, length);
                long at = position;
                while (bytes.hasRemaining()) {
                    at += file.channel.write(bytes, at);
                }
                writeNanos.add(System.nanoTime() - start);
            }
        } catch (IOException | RuntimeException e) {
            failure.compareAndSet(null, new IOException("cannot write " + file.path + ": " + e.getMessage(), e));
        } finally {
            file.release();
            free.add(buffer);
        }
    }

    /** A free buffer: a new one while fewer than the limit exist, else the next one a writer is done with. */
    private byte[] buffer() throws IOException {
        failed();
        byte[] buffer = free.poll();
        if (buffer != null) {
            return buffer;
        }
        if (allocated < maxBuffers) {
            allocated++;
            return new byte[BUFFER_SIZE];
        }
        long start = System.nanoTime();
        buffer = poll();
        writerWaitNanos += System.nanoTime() - start;
        failed();
        return buffer;
    }

    /** Waits until every buffer is back: every write done, every file closed. */
    private void awaitWrites() throws IOException {
        List<byte[]> back = new ArrayList<>();
        long start = System.nanoTime();
        try {
            while (back.size() < allocated) {
                back.add(poll());
            }
        } finally {
            free.addAll(back);
            writerWaitNanos += System.nanoTime() - start;
        }
        failed();
    }

    private byte[] poll() throws IOException {
        try {
            byte[] buffer = free.poll(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            if (buffer == null) {
                throw new IOException("no file write finished within " + writeTimeout + " (the disk under " + root
                        + " does not keep up, or hangs)");
            }
            return buffer;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for the files under " + root + " to be written");
        }
    }

    private void failed() throws IOException {
        IOException e = failure.get();
        if (e != null) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
