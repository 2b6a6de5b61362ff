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
 * (each file to one of them, the next file to the next) as positional writes through a fixed set of buffers, so that
 * reading the stream (fetching and decrypting a backup's chunks) and writing the files overlap, several files are
 * written at once, and memory stays the same whatever the size of the archive.
 * <p>
 * The stream is hostile input. An entry is refused, naming it, when its name is absolute or holds {@code ..}, when it
 * would be written through a symbolic link or below a file that an earlier entry made, when it would replace
 * anything that exists, and when it is anything but a regular file, a directory or a symbolic link (hard links,
 * devices and FIFOs are refused). Symbolic links are never made: a link the source kept in its data directory (a log
 * directory elsewhere, say) points at a place on the source's host, and on this host a link of a hostile stream would
 * lead later writes by name (the restore's own, or PostgreSQL's) anywhere. They are listed in {@link #skippedLinks()}
 * instead (a base backup streamed to one tar has no tablespaces, whose pg_tblspc links are the only ones PostgreSQL
 * needs; pg_wal comes as a directory even when it is a link on the source). Modes are the tar's permission bits (never setuid, setgid or
 * sticky); a directory gets its mode at {@link #finish()}, once everything inside it is written. With an owner (the
 * worker runs as root, PostgreSQL's files belong to its OS user), everything stays the worker's while it is written
 * and goes to the owner at {@link #finish()}, deepest first, and the top directory at {@link #handOverTop()}: no
 * other user can change the tree while the worker writes into it. Nothing is synced to disk: PostgreSQL syncs the data directory when it
 * starts recovery.
 */
final class TarExtractor implements AutoCloseable {
    static final int BUFFER_SIZE = 1 << 20;
    static final int BUFFERS_PER_WRITER = 4;
    private static final Set<java.nio.file.OpenOption> BUFFERED_CREATE = Set.of(StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    private static final Set<java.nio.file.OpenOption> DIRECT_CREATE = Set.of(StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS, com.sun.nio.file.ExtendedOpenOption.DIRECT);
    private static final int MAX_NAME_SHOWN = 160;
    private static final int MAX_SKIPPED_SHOWN = 10;

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
    /**
     * One thread per lane; all writes of a file go to one lane, in order: files are written side by side, never one
     * file by several threads (they would only queue for the file's lock in the kernel).
     */
    private final ExecutorService[] writers;
    private int nextLane;
    private final int maxBuffers;
    private final BlockingQueue<ByteBuffer> free = new LinkedBlockingQueue<>();
    /** What the stream is read into before it goes to a writer's (aligned, direct) buffer. */
    private final byte[] scratch = new byte[BUFFER_SIZE];
    /** The file system's block size: direct I/O writes whole, aligned blocks. */
    private final int block;
    /** Whether files are written with direct I/O, past the page cache (where the file system allows it). */
    private final boolean direct;
    private int allocated;
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    private final LongAdder writeNanos = new LongAdder();
    private final Set<OpenFile> open = ConcurrentHashMap.newKeySet();
    /** Real directories of the tree (the top one, those made here, none a link): entries go only into these. */
    private final Set<Path> directories = new HashSet<>();
    /** Everything made, in order; handed to the owner in reverse. */
    private final List<Path> created = new ArrayList<>();
    private long skippedLinks;
    private final List<String> skippedShown = new ArrayList<>();
    private final Map<Path, Integer> directoryModes = new HashMap<>();
    private long writerWaitNanos;

    /**
     * @param root         an existing directory, the only place anything is written
     * @param writerThreads threads writing file contents, each with {@link #BUFFERS_PER_WRITER} buffers of
     *                     {@link #BUFFER_SIZE} bytes
     * @param writeTimeout how long reading the stream may wait for the writers to free a buffer
     * @param directIo     write with direct I/O where the file system allows it: no copy into the page cache, and
     *                     nothing left for PostgreSQL's sync of the data directory to write out (it still syncs)
     */
    TarExtractor(Path root, Optional<Owner> owner, int writerThreads, Duration writeTimeout, boolean directIo) {
        this.root = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(this.root, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(this.root + " is not a directory");
        }
        this.owner = owner;
        this.writeTimeout = writeTimeout;
        int threads = Math.max(1, writerThreads);
        this.maxBuffers = threads * BUFFERS_PER_WRITER;
        this.writers = new ExecutorService[threads];
        for (int i = 0; i < threads; i++) {
            writers[i] = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "tar-writer");
                t.setDaemon(true);
                return t;
            });
        }
        directories.add(this.root);
        this.block = blockSize(this.root);
        this.direct = directIo && block > 0 && BUFFER_SIZE % block == 0 && directIoWorks();
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
                case TarConstants.LF_SYMLINK -> symlink(entry.getLinkName(), archive, name);
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

    /**
     * Gives directories their modes and, with an owner, hands everything below the top directory to it, deepest
     * first. The top directory stays the worker's: its caller still writes into the tree (configuration files) and
     * hands the top over itself when done ({@link #handOverTop}), so that until then no other user can reach the
     * tree, let alone swap a directory in it for a link.
     */
    void finish() throws IOException {
        for (int i = created.size() - 1; i >= 0; i--) {
            Path p = created.get(i);
            Integer mode = directoryModes.get(p);
            if (mode != null) {
                Files.setPosixFilePermissions(p, permissions(mode));
            }
            own(p);
        }
    }

    /** Hands the top directory to the owner: the last step, after every write of the worker into the tree. */
    void handOverTop() throws IOException {
        own(root);
    }

    /** Whether files are written with direct I/O. */
    boolean directIo() {
        return direct;
    }

    /** Buffers ever allocated: at most {@link #BUFFERS_PER_WRITER} per writer, whatever was extracted. */
    int buffersAllocated() {
        return allocated;
    }

    @Override
    public void close() {
        for (ExecutorService lane : writers) {
            lane.shutdownNow();
        }
        try {
            for (ExecutorService lane : writers) {
                lane.awaitTermination(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
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

    /** Notes a symbolic link of the stream, which is not made (see the class comment). */
    private void symlink(String linkTarget, String archive, String name) {
        skippedLinks++;
        if (skippedShown.size() < MAX_SKIPPED_SHOWN) {
            skippedShown.add(shown(archive) + ": " + shown(name) + " -> " + shown(linkTarget == null ? "" : linkTarget));
        }
    }

    /** The symbolic links of the streams extracted so far, which were not made: how many, and the first few. */
    SkippedLinks skippedLinks() {
        return new SkippedLinks(skippedLinks, List.copyOf(skippedShown));
    }

    /** {@code count} symbolic links not made; {@code shown} names the first of them as "archive: name -> target". */
    record SkippedLinks(long count, List<String> shown) {
    }

    /** Creates the file and hands its contents to the writers a buffer at a time; returns its size. */
    private long file(TarArchiveInputStream tar, Path path, int mode, String archive, String name) throws IOException {
        parent(path, archive, name);
        FileChannel channel;
        try {
            channel = FileChannel.open(path, direct ? DIRECT_CREATE : BUFFERED_CREATE);
        } catch (FileAlreadyExistsException e) {
            throw refused(archive, name, "would replace what an earlier entry made");
        }
        created.add(path);
        OpenFile file = new OpenFile(path, channel, writers[nextLane]);
        nextLane = (nextLane + 1) % writers.length;
        open.add(file);
        long position = 0;
        try {
            Files.setPosixFilePermissions(path, permissions(mode));
            while (true) {
                int n = tar.readNBytes(scratch, 0, BUFFER_SIZE);
                if (n <= 0) {
                    break;
                }
                ByteBuffer buffer = buffer();
                buffer.clear();
                buffer.put(scratch, 0, n);
                if (direct && n % block != 0) {
                    // a whole last block, cut back to the file's size once written
                    buffer.put(new byte[block - n % block]);
                }
                buffer.flip();
                long at = position;
                position += n;
                file.pending.incrementAndGet();
                file.lane.execute(() -> write(file, buffer, at));
                if (n < BUFFER_SIZE) {
                    break;
                }
            }
        } finally {
            file.size = position;
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
        NoFollow.requireSingleLink(p);
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
        final ExecutorService lane;
        final AtomicInteger pending = new AtomicInteger(1);
        /** Set before the last release, which the writes' releases happen after. */
        volatile long size;

        OpenFile(Path path, FileChannel channel, ExecutorService lane) {
            this.path = path;
            this.channel = channel;
            this.lane = lane;
        }

        void release() {
            if (pending.decrementAndGet() == 0) {
                open.remove(this);
                try (channel) {
                    if (direct && size % block != 0) {
                        channel.truncate(size);
                    }
                } catch (IOException e) {
                    failure.compareAndSet(null, new IOException("cannot finish " + path + ": " + e.getMessage(), e));
                }
            }
        }
    }

    private void write(OpenFile file, ByteBuffer bytes, long position) {
        try {
            if (failure.get() == null) {
                long start = System.nanoTime();
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
            free.add(bytes);
        }
    }

    /** A free buffer: a new one while fewer than the limit exist, else the next one a writer is done with. */
    private ByteBuffer buffer() throws IOException {
        failed();
        ByteBuffer buffer = free.poll();
        if (buffer != null) {
            return buffer;
        }
        if (allocated < maxBuffers) {
            allocated++;
            // aligned for direct I/O, and room for a last block padded to its end
            return ByteBuffer.allocateDirect(BUFFER_SIZE + 2 * Math.max(block, 1)).alignedSlice(Math.max(block, 1));
        }
        long start = System.nanoTime();
        buffer = poll();
        writerWaitNanos += System.nanoTime() - start;
        failed();
        return buffer;
    }

    /** Waits until every buffer is back: every write done, every file closed. */
    private void awaitWrites() throws IOException {
        List<ByteBuffer> back = new ArrayList<>();
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

    private ByteBuffer poll() throws IOException {
        try {
            ByteBuffer buffer = free.poll(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
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

    private static int blockSize(Path dir) {
        try {
            long size = Files.getFileStore(dir).getBlockSize();
            return size > 0 && size <= 64 * 1024 && Long.bitCount(size) == 1 ? (int) size : 0;
        } catch (IOException | UnsupportedOperationException e) {
            return 0;
        }
    }

    /** Whether this file system takes direct I/O (tmpfs, for one, may not): a block written to a probe file. */
    private boolean directIoWorks() {
        Path probe = root.resolve(".direct-io-probe");
        try {
            try (FileChannel ch = FileChannel.open(probe, DIRECT_CREATE)) {
                ByteBuffer one = ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
                one.limit(block);
                ch.write(one, 0);
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // inside a directory that a failed restore removes
            }
        }
    }

    private void failed() throws IOException {
        IOException e = failure.get();
        if (e != null) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
