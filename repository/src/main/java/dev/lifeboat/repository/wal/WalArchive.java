package dev.lifeboat.repository.wal;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import dev.lifeboat.repository.blob.ObjectNotFoundException;
import dev.lifeboat.repository.blob.ObjectStore;
import dev.lifeboat.repository.content.ContentCodec;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The archived WAL of one source, in its repository under {@code <prefix>/wal/}:
 * <pre>
 * wal/&lt;segment&gt;            a complete segment (16 MiB of WAL unless the cluster was built otherwise)
 * wal/&lt;segment&gt;.partial    the segment being written: its first bytes (the partial's base),
 *                          rewritten now and then
 * wal/&lt;segment&gt;.partial.&lt;offset&gt;-&lt;base&gt;
 *                          a piece of it: the bytes from that offset (8 hex digits) on, stored as it grows;
 *                          &lt;base&gt; names the base it continues (16 hex digits of the stored base's SHA-256)
 * wal/&lt;tli&gt;.history        timeline history files; backup history files under their own names
 * wal/system-identifier    the PostgreSQL cluster the archive belongs to, written once by its first archiver
 * wal-retired/&lt;sysid&gt;-&lt;time&gt;/  an archive moved aside by {@link #retire}, same layout
 * </pre>
 * Each object is {@code seal("wal:" + name, sha256(plaintext) || zstd(plaintext))} under the repository's data key:
 * compressed, encrypted, bound to its name (an object copied under another name does not open) and checksummed.
 * <p>
 * The partial of a segment is its base joined with the pieces that continue it without a hole ({@link #fetch}).
 * An archiver stores each second only what the server wrote since the last upload, as a piece
 * ({@link PartialWriter}), and rewrites the base (deleting the pieces it covers) only when the pieces add up to
 * more than it or grow many: the archive trails a slowly written segment by a second without uploading the whole
 * segment every second.
 * <p>
 * An archive holds the WAL of one cluster only: {@link #claim} binds it to a system identifier before anything is
 * written, and {@link #fetch(String, String)} checks the identifier in each segment's first page header, so that
 * WAL of two clusters that shared a source id (a re-initialised data directory) is never mixed in one recovery.
 */
public final class WalArchive {
    private static final int SHA256_BYTES = 32;
    private static final String PARTIAL = ".partial";
    /**
     * What follows {@code <segment>.partial} in a piece's name: its offset in the segment and the tag of the base it
     * continues.
     */
    private static final java.util.regex.Pattern PIECE = java.util.regex.Pattern.compile(
            "\\.([0-9a-f]{8})-([0-9a-f]{16})");
    /** A partial written as more pieces than this gets a new base, so a read joins few objects. */
    static final int MAX_PIECES = 32;
    /** Attempts at joining a partial whose objects change under the read (a new base replacing its pieces). */
    private static final int JOIN_ATTEMPTS = 3;
    /** The object naming the cluster the archive belongs to. */
    public static final String SYSTEM_IDENTIFIER = "system-identifier";
    static final String RETIRED = "wal-retired/";
    private static final java.time.format.DateTimeFormatter RETIRED_TIME = java.time.format.DateTimeFormatter
            .ofPattern("yyyyMMdd'T'HHmmss'Z'", java.util.Locale.ROOT).withZone(java.time.ZoneOffset.UTC);

    private final ObjectStore store;
    private final String bucket;
    private final String base;
    private final String root;
    private final ContentCodec codec;
    private final int segmentSize;

    public WalArchive(ObjectStore store, String bucket, String repositoryPrefix, ContentCodec codec, int segmentSize) {
        this(store, bucket, base(repositoryPrefix), base(repositoryPrefix) + "wal/", codec, segmentSize);
    }

    private WalArchive(ObjectStore store, String bucket, String base, String root, ContentCodec codec,
                       int segmentSize) {
        this.store = store;
        this.bucket = bucket;
        this.base = base;
        this.root = root;
        this.codec = codec;
        this.segmentSize = segmentSize;
        WalNames.segmentName(1, 0, segmentSize); // rejects a size that is not a power of two
    }

    private static String base(String repositoryPrefix) {
        String prefix = repositoryPrefix == null ? "" : repositoryPrefix.replaceAll("^/+|/+$", "");
        return prefix.isEmpty() ? "" : prefix + "/";
    }

    public int segmentSize() {
        return segmentSize;
    }

    /** Where the archive lives, for messages. */
    public String location() {
        return "s3://" + bucket + "/" + root;
    }

    /**
     * Stores a complete WAL file: a segment of exactly {@link #segmentSize()} bytes, a timeline history file or a
     * backup history file. Storing a complete segment removes its partial.
     */
    public void put(String name, byte[] content) {
        if (!WalNames.isArchivable(name)) {
            throw new IllegalArgumentException("not a WAL file name: " + name);
        }
        if (WalNames.isSegment(name) && content.length != segmentSize) {
            throw new IllegalArgumentException("WAL segment " + name + " has " + content.length + " bytes, not "
                    + segmentSize);
        }
        store.put(bucket, root + name, seal(name, content));
        if (WalNames.isSegment(name)) {
            store.delete(bucket, root + name + PARTIAL);
        }
    }

    /**
     * Stores the first {@code length} bytes of a segment still being written (everything up to the archived LSN) as
     * its partial's base. Replaces an earlier base of the same segment; pieces stored against that one no longer
     * join. An archiver writes through {@link #partialWriter} instead.
     */
    public void putPartial(String segment, byte[] content, int length) {
        putBase(segment, content, length);
    }

    /** Stores the base; returns the tag that pieces joining it are sealed with. */
    private String putBase(String segment, byte[] content, int length) {
        WalNames.requireSegment(segment);
        checkLength(segment, content, length);
        String name = segment + PARTIAL;
        byte[] sealed = seal(name, Arrays.copyOf(content, length));
        store.put(bucket, root + name, sealed);
        return baseTag(sealed);
    }

    private void checkLength(String segment, byte[] content, int length) {
        if (length < 0 || length > segmentSize || length > content.length) {
            throw new IllegalArgumentException("partial of " + segment + ": bad length " + length);
        }
    }

    /**
     * The base a piece continues, named in the piece's name (and so sealed into it): a digest of the base as stored.
     * A piece of another base (an earlier one of this segment, another archiver's, or one copied from another archive
     * of the repository) is not read with this one, and two writers' pieces never share a name.
     */
    private static String baseTag(byte[] storedBase) {
        return java.util.HexFormat.of().formatHex(sha256(storedBase), 0, 8);
    }

    /**
     * How many bytes of {@code segment} its stored partial holds (its base and the pieces joined); 0 when the archive
     * holds no partial of it. Read and authenticated whole: meant for an archiver (re)starting within the segment.
     */
    public int partialLength(String segment) {
        WalNames.requireSegment(segment);
        return readPartial(segment).bytes().length;
    }

    /**
     * A writer of the partial of {@code segment}, the segment an archiver is receiving: starts from what the archive
     * holds of it (read once, so a restarted or new archiver never stores it shorter). When what is stored does not
     * open (damaged, or not written by this repository), the writer stores the partial anew from its first write and
     * says why ({@link PartialWriter#replacing()}): the archiver streams the segment from its start, so it has every
     * byte of it.
     */
    public PartialWriter partialWriter(String segment) {
        WalNames.requireSegment(segment);
        try {
            Partial held = readPartial(segment);
            return new PartialWriter(segment, held.bytes().length, held.pieces(), null);
        } catch (WalIntegrityException e) {
            List<String> pieces = partialObjects(segment).stream().filter(n -> !n.equals(segment + PARTIAL)).toList();
            return new PartialWriter(segment, 0, pieces, e.getMessage());
        }
    }

    /**
     * A writer of the partial of {@code segment}, the segment that follows one this archiver has just stored
     * complete: nothing of it can be stored yet, so nothing is read.
     */
    public PartialWriter partialWriterOfNext(String segment) {
        WalNames.requireSegment(segment);
        return new PartialWriter(segment, 0, List.of(), null);
    }

    /**
     * Stores a segment's partial as it grows, the bytes new since its last call as a piece
     * ({@code <segment>.partial.<offset>-<base>}, named after the base it continues). The whole prefix is stored
     * again as the base when this writer has stored no base yet, when the pieces since its base add up to more than
     * it, or when they are {@link #MAX_PIECES}; the pieces the new base covers (an earlier writer's too) are deleted
     * after it, in the background. So the bytes uploaded stay within a small multiple of the WAL written, and a read
     * joins at most a base and {@link #MAX_PIECES} pieces. Not thread-safe: one archiver's streaming thread.
     */
    public final class PartialWriter {
        private final String segment;
        private int stored;
        private int baseLength;
        private String baseTag;
        private long pieceBytes;
        /** Pieces a new base covers: those this writer stored since its base, those it found at its start. */
        private final List<String> covered;
        /** Why what was stored of the partial is replaced whole (it did not open); null when it opened. */
        private final String replacing;

        private PartialWriter(String segment, int stored, List<String> found, String replacing) {
            this.segment = segment;
            this.stored = stored;
            this.covered = new ArrayList<>(found);
            this.replacing = replacing;
        }

        /** Why the partial stored before this writer is replaced whole: it did not open. Empty when it did. */
        public Optional<String> replacing() {
            return Optional.ofNullable(replacing);
        }

        /** How many bytes of the segment the archive holds, as far as this writer knows. */
        public int stored() {
            return stored;
        }

        /**
         * Stores {@code content[0, length)} when it is longer than what is stored: only the new bytes, or the whole
         * prefix as a new base. False when there was nothing new to store.
         */
        public boolean write(byte[] content, int length) {
            checkLength(segment, content, length);
            if (length <= stored) {
                return false;
            }
            if (baseTag == null || covered.size() >= MAX_PIECES || pieceBytes + (length - stored) > baseLength) {
                baseTag = putBase(segment, content, length);
                baseLength = length;
                pieceBytes = 0;
                deleteInBackground(List.copyOf(covered));
                covered.clear();
            } else {
                String name = pieceName(segment, stored, baseTag);
                store.put(bucket, root + name, seal(name, Arrays.copyOfRange(content, stored, length)));
                covered.add(name);
                pieceBytes += length - stored;
            }
            stored = length;
            return true;
        }

        /**
         * Stores the segment complete ({@link #put}, which removes its base) and deletes the pieces this writer knows
         * of; a piece it does not know of (another archiver's, stored meanwhile) no longer joins anything and is left
         * to the WAL retention.
         */
        public void complete(byte[] content) {
            put(segment, content);
            deleteInBackground(List.copyOf(covered));
            covered.clear();
        }
    }

    /**
     * Deletes pieces that joined nothing any more, off the archiver's streaming thread; one that fails stays until
     * the WAL retention deletes it with its segment.
     */
    private void deleteInBackground(List<String> pieces) {
        if (pieces.isEmpty()) {
            return;
        }
        Thread.ofVirtual().name("wal-piece-delete").start(() -> {
            for (String piece : pieces) {
                try {
                    store.delete(bucket, root + piece);
                } catch (RuntimeException e) {
                    // harmless: it is covered and sealed against a base that is gone
                }
            }
        });
    }

    private static String pieceName(String segment, int offset, String baseTag) {
        return segment + PARTIAL + "." + String.format(java.util.Locale.ROOT, "%08x", offset) + "-" + baseTag;
    }

    /** The names of the objects {@code segment}'s partial is stored as: its base and its pieces, as listed. */
    private List<String> partialObjects(String segment) {
        return store.list(bucket, root + segment + PARTIAL).stream().map(key -> key.substring(root.length()))
                .filter(name -> segment.equals(partialSegment(name))).toList();
    }

    /** The segment a partial's object (its base or a piece) belongs to, or null when {@code name} is not one. */
    static String partialSegment(String name) {
        int at = name.indexOf(PARTIAL);
        if (at < 0 || !WalNames.isSegment(name.substring(0, at))) {
            return null;
        }
        String rest = name.substring(at + PARTIAL.length());
        return rest.isEmpty() || PIECE.matcher(rest).matches() ? name.substring(0, at) : null;
    }

    /**
     * A segment's stored partial: its bytes (the base joined with the pieces that continue it without a hole; none
     * without a base) and the names of its pieces.
     */
    private record Partial(byte[] bytes, List<String> pieces) {
    }

    /** A partial's objects changed under a read (a new base replaced its pieces, or the segment was completed). */
    private static final class PartialChanged extends RuntimeException {
        PartialChanged(String message) {
            super(message);
        }
    }

    /**
     * The partial of {@code segment} as stored (no bytes when there is no base). Its objects are listed, then read:
     * one that is gone by then makes the read start over, a few times; {@link PartialChanged} when it keeps changing.
     */
    private Partial readPartial(String segment) {
        for (int attempt = 1; ; attempt++) {
            List<String> names = new ArrayList<>(partialObjects(segment));
            boolean hasBase = names.remove(segment + PARTIAL);
            if (!hasBase) {
                // pieces without their base (completed meanwhile, or left over): they join nothing
                return new Partial(new byte[0], names);
            }
            Optional<byte[]> joined = join(segment, names);
            if (joined.isPresent()) {
                return new Partial(joined.get(), names);
            }
            if (attempt == JOIN_ATTEMPTS) {
                throw new PartialChanged("the partial of WAL segment " + segment + " in " + location()
                        + " kept changing while it was read (" + JOIN_ATTEMPTS + " attempts)");
            }
            try {
                Thread.sleep(20L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PartialChanged("interrupted while reading the partial of WAL segment " + segment);
            }
        }
    }

    /**
     * The base joined with its pieces (those named with its tag) in offset order, as long as they continue it without
     * a hole; a piece adds only the bytes past what is joined, it never replaces any. Empty when the base or one of
     * its pieces is gone (a new base replaced them): the caller reads again. {@link WalIntegrityException} when one of
     * its pieces does not open: damaged, or not written by this repository under that name.
     */
    private Optional<byte[]> join(String segment, List<String> names) {
        String baseName = segment + PARTIAL;
        Optional<byte[]> storedBase = readStored(baseName);
        if (storedBase.isEmpty()) {
            return Optional.empty();
        }
        byte[] stored = storedBase.get();
        byte[] base = open(baseName, stored);
        String tag = baseTag(stored);
        TreeMap<Long, String> pieces = new TreeMap<>();
        for (String name : names) {
            java.util.regex.Matcher m = PIECE.matcher(name.substring(baseName.length()));
            if (m.matches() && m.group(2).equals(tag)) {
                pieces.put(Long.parseLong(m.group(1), 16), name);
            }
        }
        if (pieces.isEmpty()) {
            return Optional.of(base);
        }
        byte[] joined = Arrays.copyOf(base, segmentSize);
        int length = base.length;
        for (var e : pieces.entrySet()) {
            long offset = e.getKey();
            if (offset > length) {
                break;   // a hole (a piece whose predecessor is not stored): what follows it does not join
            }
            Optional<byte[]> read = read(e.getValue());
            if (read.isEmpty()) {
                return Optional.empty();
            }
            byte[] piece = read.get();
            long end = offset + piece.length;
            if (end > segmentSize) {
                throw new WalIntegrityException(e.getValue(), "reaches past the segment's end (" + end + " bytes)",
                        null);
            }
            if (end > length) {
                System.arraycopy(piece, (int) (length - offset), joined, length, (int) (end - length));
                length = (int) end;
            }
        }
        return Optional.of(Arrays.copyOf(joined, length));
    }

    /**
     * The content of a WAL file as PostgreSQL's restore_command must deliver it: a complete segment; else the
     * segment's partial, padded with zeros to the segment size (recovery ends where its WAL ends); a history file as
     * stored. Empty when the archive has neither. {@link WalIntegrityException} when the stored object is damaged or
     * was not written under this name with this repository's key.
     */
    public Optional<byte[]> fetch(String name) {
        if (!WalNames.isArchivable(name)) {
            throw new IllegalArgumentException("not a WAL file name: " + name);
        }
        Optional<byte[]> whole = read(name);
        if (whole.isPresent() || !WalNames.isSegment(name)) {
            return whole;
        }
        byte[] partial;
        try {
            partial = readPartial(name).bytes();
        } catch (PartialChanged e) {
            partial = new byte[0];
        }
        if (partial.length == 0) {
            // stored complete while the partial was read, or neither is stored
            return read(name);
        }
        return Optional.of(Arrays.copyOf(partial, segmentSize));
    }

    /** Whether the archive holds {@code segment} complete (not only a partial). */
    public boolean hasComplete(String segment) {
        return store.size(bucket, root + WalNames.requireSegment(segment)).isPresent();
    }

    /**
     * When the archive last stored {@code segment}: its complete object, else its partial; empty when it holds
     * neither. WAL in it was written by the source no later than this (S3 reports whole seconds).
     */
    public Optional<java.time.Instant> writtenAt(String segment) {
        WalNames.requireSegment(segment);
        return store.stat(bucket, root + segment).map(dev.lifeboat.repository.blob.ObjectInfo::lastModified)
                .or(() -> partialObjects(segment).stream()
                        .flatMap(name -> store.stat(bucket, root + name).stream())
                        .map(dev.lifeboat.repository.blob.ObjectInfo::lastModified)
                        .max(java.util.Comparator.naturalOrder()));
    }

    /**
     * The cluster the archive belongs to, as recorded by {@link #claim}; empty for an archive nobody claimed yet (new,
     * or written before archives recorded it). {@link WalIntegrityException} when the record was altered or copied
     * from another repository.
     *
     * @param systemIdentifier the cluster's system identifier (unsigned decimal)
     * @param since            when the archive was bound to it
     */
    public record Identity(String systemIdentifier, java.time.Instant since) {
    }

    public Optional<Identity> identity() {
        return read(SYSTEM_IDENTIFIER).map(b -> parseIdentity(new String(b, java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static Identity parseIdentity(String text) {
        String id = null;
        java.time.Instant since = null;
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String key = line.substring(0, eq).trim();
            String value = line.substring(eq + 1).trim();
            try {
                if (key.equals("system_identifier")) {
                    id = Long.toUnsignedString(Long.parseUnsignedLong(value));
                } else if (key.equals("since")) {
                    since = java.time.Instant.parse(value);
                }
            } catch (RuntimeException e) {
                throw new WalIntegrityException(SYSTEM_IDENTIFIER, "unreadable " + key, e);
            }
        }
        if (id == null) {
            throw new WalIntegrityException(SYSTEM_IDENTIFIER, "names no system_identifier", null);
        }
        return new Identity(id, since);
    }

    /**
     * Binds the archive to the cluster {@code systemIdentifier} before WAL of it is written: records it when the
     * archive is not bound yet, after checking that the newest WAL already stored (an archive from before archives
     * recorded their cluster) has the same identifier in its header. {@link ForeignClusterException} when the archive
     * belongs to another cluster; then nothing is written.
     */
    public Identity claim(String systemIdentifier) {
        String wanted = Long.toUnsignedString(Long.parseUnsignedLong(systemIdentifier));
        Optional<Identity> bound = identity();
        if (bound.isEmpty()) {
            Optional<String> stored = newestSegmentIdentifier(list());
            if (stored.isPresent() && !stored.get().equals(wanted)) {
                throw foreign(new Identity(stored.get(), null), wanted);
            }
            Identity mine = new Identity(wanted, java.time.Instant.now());
            store.putIfAbsent(bucket, root + SYSTEM_IDENTIFIER, sealIdentity(mine));
            bound = identity();
        }
        Identity identity = bound.orElseThrow(() -> new IllegalStateException("the archive " + location()
                + " lost its " + SYSTEM_IDENTIFIER + " record while it was written"));
        if (!identity.systemIdentifier().equals(wanted)) {
            throw foreign(identity, wanted);
        }
        return identity;
    }

    private ForeignClusterException foreign(Identity archive, String offered) {
        return new ForeignClusterException("the WAL archive " + location() + " belongs to the PostgreSQL cluster with "
                + "system identifier " + archive.systemIdentifier() + (archive.since() == null ? ""
                : " (since " + archive.since() + ")") + ", not to cluster " + offered, archive.systemIdentifier(),
                offered);
    }

    private byte[] sealIdentity(Identity identity) {
        String text = "system_identifier=" + identity.systemIdentifier() + "\n"
                + (identity.since() == null ? "" : "since=" + identity.since() + "\n");
        return seal(SYSTEM_IDENTIFIER, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * The system identifier in the header of the newest stored segment that has one (a partial counts; a partial
     * shorter than the header does not): what an archive that recorded no identifier holds.
     */
    Optional<String> newestSegmentIdentifier(Listing listing) {
        List<String> names = new ArrayList<>(listing.segments());
        names.addAll(listing.partials());
        names.sort(java.util.Comparator.comparingLong(WalNames::position).reversed());
        for (String name : names.subList(0, Math.min(3, names.size()))) {
            Optional<byte[]> content = read(name).or(() -> Optional.of(readPartial(name).bytes()));
            Optional<String> id = content.flatMap(c -> WalSegmentHeader.systemIdentifier(c, c.length, segmentSize));
            if (id.isPresent()) {
                return id;
            }
        }
        return Optional.empty();
    }

    /**
     * {@link #fetch(String)} for a recovery of the cluster {@code systemIdentifier}: a segment whose first page header
     * names another cluster is refused with {@link ForeignClusterException} (a segment too short to say, a zero-padded
     * partial of a few bytes, passes: PostgreSQL checks the header of whatever it replays).
     */
    public Optional<byte[]> fetch(String name, String systemIdentifier) {
        Optional<byte[]> content = fetch(name);
        if (content.isPresent() && WalNames.isSegment(name) && systemIdentifier != null) {
            Optional<String> found = WalSegmentHeader.systemIdentifier(content.get(), content.get().length,
                    segmentSize);
            if (found.isPresent() && !found.get().equals(systemIdentifier)) {
                throw new ForeignClusterException("WAL segment " + name + " in " + location() + " was written by the "
                        + "PostgreSQL cluster with system identifier " + found.get() + " (its page header), not by "
                        + "cluster " + systemIdentifier + " of the base backup; it is not replayed", systemIdentifier,
                        found.get());
            }
        }
        return content;
    }

    /**
     * What {@link #retire} did.
     *
     * @param location where the archive is now
     * @param objects  how many objects were moved
     */
    public record Retired(String location, String systemIdentifier, int objects) {
    }

    /**
     * Moves the whole archive aside to {@code wal-retired/<systemIdentifier>-<time>/} of the same repository (nothing
     * is deleted that was not copied first; the identity record goes last, so an interrupted move is repeated by
     * calling again), after which the next archiver starts a new archive here. {@code confirmedIdentifier} must be the
     * cluster the archive belongs to ({@link #identity()}, or for an archive that recorded none the header of its
     * newest segment): {@link ForeignClusterException} otherwise, and nothing moves. Restores of base backups of the
     * retired cluster still find its WAL there ({@link #retired()}).
     */
    public Retired retire(String confirmedIdentifier, java.time.Instant now) {
        String confirmed = Long.toUnsignedString(Long.parseUnsignedLong(confirmedIdentifier));
        Listing listing = list();
        Identity identity = identity().orElseGet(() -> newestSegmentIdentifier(listing)
                .map(id -> new Identity(id, null)).orElse(null));
        if (identity == null) {
            throw new IllegalStateException("the WAL archive " + location() + " holds no WAL that names its cluster; "
                    + "there is nothing to retire");
        }
        if (!identity.systemIdentifier().equals(confirmed)) {
            throw new ForeignClusterException("the WAL archive " + location() + " belongs to the PostgreSQL cluster "
                    + "with system identifier " + identity.systemIdentifier() + ", not " + confirmed
                    + "; nothing was moved", identity.systemIdentifier(), confirmed);
        }
        String target = base + RETIRED + confirmed + "-" + RETIRED_TIME.format(now) + "/";
        String identityKey = root + SYSTEM_IDENTIFIER;
        List<String> keys = store.list(bucket, root);
        for (String key : keys) {
            if (!key.equals(identityKey)) {
                copy(key, target + key.substring(root.length()));
            }
        }
        if (keys.contains(identityKey)) {
            copy(identityKey, target + SYSTEM_IDENTIFIER);
        } else {
            store.put(bucket, target + SYSTEM_IDENTIFIER, sealIdentity(identity));
        }
        int moved = deleteIdentityLast(keys);
        return new Retired("s3://" + bucket + "/" + target, confirmed, moved);
    }

    /** Deletes {@code keys} of this archive, its identity record last, so an interrupted pass is repeated whole. */
    private int deleteIdentityLast(List<String> keys) {
        String identityKey = root + SYSTEM_IDENTIFIER;
        int deleted = 0;
        for (String key : keys) {
            if (!key.equals(identityKey)) {
                store.delete(bucket, key);
                deleted++;
            }
        }
        if (keys.contains(identityKey)) {
            store.delete(bucket, identityKey);
            deleted++;
        }
        return deleted;
    }

    private void copy(String from, String to) {
        try {
            // sealed under the file's name, not its key: the copy opens where it is
            store.put(bucket, to, dev.lifeboat.repository.snapshot.Repository.readAll(store, bucket, from,
                    maxStored(), "WAL file"));
        } catch (ObjectNotFoundException e) {
            // gone meanwhile (a partial replaced by its segment): nothing to copy
        }
    }

    /**
     * The largest stored WAL object: every one opens to at most a segment ({@link #open}), so sealed it is at most
     * zstd's worst case for a segment plus its checksum, nonce and tag. Nothing larger is read into memory.
     */
    private long maxStored() {
        return Zstd.compressBound(segmentSize) + SHA256_BYTES + 1 + ContentCodec.NONCE_BYTES
                + ContentCodec.TAG_BITS / 8;
    }

    private static final java.util.regex.Pattern RETIRED_NAME = java.util.regex.Pattern.compile(
            "([0-9]{1,20})-[0-9]{8}T[0-9]{6}Z/");

    /**
     * For an archive moved aside by {@link #retire}: the cluster its directory is named after
     * ({@code wal-retired/<systemIdentifier>-<time>/}); empty for the live archive or a directory not named so.
     * The name is written by the move and not sealed; the identity record is sealed but bound only to its file name,
     * so a reader that acts on either checks that both agree.
     */
    public Optional<String> retiredIdentifier() {
        String prefix = base + RETIRED;
        if (!root.startsWith(prefix)) {
            return Optional.empty();
        }
        java.util.regex.Matcher m = RETIRED_NAME.matcher(root.substring(prefix.length()));
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The archives of this repository moved aside by {@link #retire}, in name order. */
    public List<WalArchive> retired() {
        String prefix = base + RETIRED;
        java.util.TreeSet<String> roots = new java.util.TreeSet<>();
        for (String key : store.list(bucket, prefix)) {
            if (key.endsWith("/" + SYSTEM_IDENTIFIER) && key.indexOf('/', prefix.length()) == key.length()
                    - SYSTEM_IDENTIFIER.length() - 1) {
                roots.add(key.substring(0, key.length() - SYSTEM_IDENTIFIER.length()));
            }
        }
        return roots.stream().map(r -> new WalArchive(store, bucket, base, r, codec, segmentSize)).toList();
    }

    /** What the archive holds, in name order. */
    public Listing list() {
        List<String> segments = new ArrayList<>();
        List<String> partials = new ArrayList<>();
        List<String> histories = new ArrayList<>();
        for (String key : store.list(bucket, root)) {
            String name = key.substring(root.length());
            if (WalNames.isSegment(name)) {
                segments.add(name);
            } else if (name.endsWith(PARTIAL) && partialSegment(name) != null) {
                // a partial is its base (pieces without one join nothing)
                partials.add(partialSegment(name));
            } else if (WalNames.isHistory(name)) {
                histories.add(name);
            }
        }
        segments.sort(null);
        partials.sort(null);
        histories.sort(null);
        return new Listing(segments, partials, histories);
    }

    /**
     * @param segments  complete segments
     * @param partials  segments of which only a partial is stored
     * @param histories timeline history files
     */
    public record Listing(List<String> segments, List<String> partials, List<String> histories) {
    }

    /**
     * Checks that the archive holds every segment from {@code from} on without a hole, across timeline switches: at
     * each position the segment must be on the timeline that the newest timeline history file names for it (before
     * a switch point's segment the parent's, from it on the child's), as restore_command will ask for it; WAL of an
     * abandoned timeline after its switch (a former primary that wrote on) does not count. Without a history file
     * any timeline counts. A partial counts as the last position only.
     */
    public Continuity continuity(String from) {
        return continuity(from, list());
    }

    /** {@link #continuity(String)} over a listing taken before, so one listing serves several questions. */
    public Continuity continuity(String from, Listing listing) {
        long first = WalNames.segmentNumber(from, segmentSize);
        TreeMap<Long, Integer> timelines = timelines(listing);
        TreeMap<Long, String> byNumber = new TreeMap<>();
        for (String s : listing.segments()) {
            long n = WalNames.segmentNumber(s, segmentSize);
            if (n >= first && onPath(timelines, s, n)) {
                byNumber.merge(n, s, (a, b) -> a.compareTo(b) >= 0 ? a : b);
            }
        }
        Optional<String> partial = listing.partials().stream()
                .filter(p -> WalNames.segmentNumber(p, segmentSize) >= first)
                .filter(p -> onPath(timelines, p, WalNames.segmentNumber(p, segmentSize)))
                .max(java.util.Comparator.comparingLong((String p) -> WalNames.segmentNumber(p, segmentSize)));
        String lastContiguous = null;
        long expected = first;
        for (var e : byNumber.entrySet()) {
            if (e.getKey() != expected) {
                return new Continuity(from, Optional.ofNullable(lastContiguous),
                        Optional.of(missing(timelines, e.getValue(), expected)), Optional.empty());
            }
            lastContiguous = e.getValue();
            expected++;
        }
        if (partial.isPresent() && WalNames.segmentNumber(partial.get(), segmentSize) > expected) {
            return new Continuity(from, Optional.ofNullable(lastContiguous),
                    Optional.of(missing(timelines, partial.get(), expected)), partial);
        }
        return new Continuity(from, Optional.ofNullable(lastContiguous), Optional.empty(), partial);
    }

    private String missing(TreeMap<Long, Integer> timelines, String next, long number) {
        int timeline = timelines.isEmpty() ? WalNames.timeline(next) : timelines.floorEntry(number).getValue();
        return WalNames.segmentName(timeline, number, segmentSize);
    }

    private static boolean onPath(TreeMap<Long, Integer> timelines, String segment, long number) {
        return timelines.isEmpty() || timelines.floorEntry(number).getValue() == WalNames.timeline(segment);
    }

    /**
     * From the newest timeline history file: the segment number each timeline of the path starts at (the first
     * from 0). Empty without a history file, or when it cannot be read: then any timeline counts.
     */
    private TreeMap<Long, Integer> timelines(Listing listing) {
        TreeMap<Long, Integer> from = new TreeMap<>();
        if (listing.histories().isEmpty()) {
            return from;
        }
        String newest = listing.histories().getLast();
        int newestTimeline = Integer.parseInt(newest.substring(0, 8), 16);
        byte[] content;
        try {
            content = fetch(newest).orElse(null);
        } catch (RuntimeException e) {
            return from;
        }
        if (content == null) {
            return from;
        }
        long start = 0;
        for (String line : new String(content, java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 2 || fields[0].startsWith("#") || !fields[1].contains("/")) {
                continue;
            }
            try {
                int parent = Integer.parseInt(fields[0]);
                from.put(start, parent);
                start = Long.divideUnsigned(WalNames.parseLsn(fields[1]), segmentSize);
            } catch (RuntimeException e) {
                return new TreeMap<>();
            }
        }
        from.put(start, newestTimeline);
        return from;
    }

    /**
     * @param lastContiguous the newest complete segment reachable from {@code from} without a hole
     * @param firstMissing   the first segment missing after it, when a newer one exists
     * @param partial        the segment being written, when its partial is stored
     */
    public record Continuity(String from, Optional<String> lastContiguous, Optional<String> firstMissing,
                             Optional<String> partial) {
        public boolean unbroken() {
            return firstMissing.isEmpty();
        }
    }

    /**
     * Deletes the segments (complete or partial) and backup history files that sit before {@code oldestKept} in the
     * WAL on every timeline, compared by {@link WalNames#position} (so whatever the segment size), except those
     * written after {@code writtenBefore}: a base backup still being written has no manifest yet, and the WAL it
     * starts from is young. Timeline history files are small and kept.
     */
    public Pruned pruneBefore(String oldestKept, java.time.Instant writtenBefore) {
        long keep = WalNames.position(oldestKept);
        int segments = 0;
        int partials = 0;
        int backupHistories = 0;
        int young = 0;
        for (String key : store.list(bucket, root)) {
            String name = key.substring(root.length());
            boolean partial = partialSegment(name) != null;
            String segment = partial ? partialSegment(name)
                    : WalNames.isBackupHistory(name) ? name.substring(0, 24) : name;
            if (!WalNames.isSegment(segment) || WalNames.position(segment) >= keep) {
                continue;
            }
            Optional<dev.lifeboat.repository.blob.ObjectInfo> info = store.stat(bucket, key);
            if (info.isEmpty()) {
                continue;
            }
            if (info.get().lastModified().isAfter(writtenBefore)) {
                young++;
                continue;
            }
            store.delete(bucket, key);
            if (partial) {
                partials += name.endsWith(PARTIAL) ? 1 : 0;   // a partial counts once, by its base
            } else if (WalNames.isSegment(name)) {
                segments++;
            } else {
                backupHistories++;
            }
        }
        return new Pruned(oldestKept, segments, partials, backupHistories, young);
    }

    /**
     * Deletes the whole archive, its identity record last (an interrupted delete is finished by calling again), when
     * none of its objects was written after {@code writtenBefore}: the number of objects deleted, or -1 when a
     * younger one kept it all.
     */
    public int deleteAll(java.time.Instant writtenBefore) {
        List<String> keys = store.list(bucket, root);
        for (String key : keys) {
            Optional<dev.lifeboat.repository.blob.ObjectInfo> info = store.stat(bucket, key);
            if (info.isPresent() && info.get().lastModified().isAfter(writtenBefore)) {
                return -1;
            }
        }
        return deleteIdentityLast(keys);
    }

    /**
     * What {@link #pruneBefore} deleted.
     *
     * @param segments        complete segments deleted
     * @param partials        partial segments deleted (their bases; their pieces go with them uncounted)
     * @param backupHistories backup history files deleted
     * @param keptYoung       objects before {@code oldestKept} kept because they were written too recently
     */
    public record Pruned(String oldestKept, int segments, int partials, int backupHistories, int keptYoung) {
    }

    private Optional<byte[]> read(String name) {
        return readStored(name).map(stored -> open(name, stored));
    }

    /** The object {@code name} as stored (sealed); empty when it does not exist. */
    private Optional<byte[]> readStored(String name) {
        try {
            return Optional.of(dev.lifeboat.repository.snapshot.Repository.readAll(store, bucket, root + name,
                    maxStored(), "WAL file"));
        } catch (ObjectNotFoundException e) {
            return Optional.empty();
        }
    }

    private byte[] seal(String name, byte[] plaintext) {
        byte[] compressed = Zstd.compress(plaintext, 1);
        byte[] body = new byte[SHA256_BYTES + compressed.length];
        System.arraycopy(sha256(plaintext), 0, body, 0, SHA256_BYTES);
        System.arraycopy(compressed, 0, body, SHA256_BYTES, compressed.length);
        return codec.seal("wal:" + name, body);
    }

    private byte[] open(String name, byte[] stored) {
        byte[] body;
        try {
            body = codec.open("wal:" + name, stored);
        } catch (SecurityException e) {
            throw new WalIntegrityException(name, e.getMessage(), e);
        }
        if (body.length < SHA256_BYTES) {
            throw new WalIntegrityException(name, "stored object is truncated", null);
        }
        byte[] compressed = Arrays.copyOfRange(body, SHA256_BYTES, body.length);
        byte[] plain;
        try {
            long size = Zstd.getFrameContentSize(compressed);
            if (size < 0 || size > segmentSize) {
                throw new WalIntegrityException(name, "bad compressed frame (content size " + size + ")", null);
            }
            plain = Zstd.decompress(compressed, (int) size);
        } catch (ZstdException | IllegalArgumentException e) {
            throw new WalIntegrityException(name, "cannot decompress: " + e.getMessage(), e);
        }
        if (!MessageDigest.isEqual(sha256(plain), Arrays.copyOf(body, SHA256_BYTES))) {
            throw new WalIntegrityException(name, "checksum mismatch after decompression", null);
        }
        return plain;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }
}
