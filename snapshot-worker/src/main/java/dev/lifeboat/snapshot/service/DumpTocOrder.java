package dev.lifeboat.snapshot.service;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The table of contents of a directory-format dump ({@code toc.dat}) with its entries' dump ids renumbered so that
 * {@code pg_restore --jobs} takes the largest tables first when their data comes through named pipes.
 *
 * <p>pg_restore orders the work its parallel jobs can take by each entry's data size, largest first, then by dump id.
 * It learns the sizes from the data files ({@code stat}) and gives each post-data entry (an index, a constraint) the
 * size of its table's data. A named pipe's size is 0, so from pipes every entry ties and the jobs take them in dump id
 * order: a large table may be loaded last, by one job while the other idles. Renumbering the same set of ids in
 * decreasing order of the sizes pg_restore would have seen (the manifest's file sizes), every reference to an id
 * renumbered with it, restores the order it takes from files. Nothing else changes: the entries keep their place in
 * the file (the order of the serial pre-data section and of the later passes), their statements and their data file
 * names.
 *
 * <p>Only archive versions 1.12 to 1.14 (1.14 is pg_dump 12 to 15; 1.12 and 1.13 older releases) in directory format
 * are rewritten; any other version, or a table of contents that does not read as one, is left as it is
 * ({@link #largestFirst} returns empty) and pg_restore reads it unchanged. pg_restore's own messages then name the
 * renumbered ids ("from TOC entry N"); the object each names (kind, schema, name) is the same.
 */
final class DumpTocOrder {
    /**
     * The format byte of a directory-format dump's toc.dat: pg_dump's directory writer records archTar (3) there, not
     * archDirectory.
     */
    private static final int FORMAT_DIRECTORY = 3;
    /** A dependency as pg_dump writes it ({@code %d}): ASCII digits only, so nothing reads it as another number. */
    private static final Pattern DUMP_ID = Pattern.compile("-?[0-9]{1,10}");
    private static final int SECTION_POST_DATA = 4;
    /** More entries than a dump of this many objects is not believed (every entry is at least 60 bytes anyway). */
    private static final int MAX_ENTRIES = 10_000_000;

    private DumpTocOrder() {
    }

    /**
     * {@code toc} renumbered largest first, or empty when it is not a table of contents this reads (then use it as
     * it is). {@code dataFileSizes}: the size of each table data file by its name in the dump ({@code 1234.dat}).
     */
    static Optional<byte[]> largestFirst(byte[] toc, Map<String, Long> dataFileSizes) {
        try {
            Toc parsed = Toc.read(toc);
            return parsed == null ? Optional.empty() : Optional.of(parsed.renumbered(dataFileSizes));
        } catch (Malformed e) {
            return Optional.empty();
        }
    }

    /** One entry: its id, its dependencies and where its other fields lie in the file. */
    private record Entry(int id, String desc, int section, int[] deps, String file, int fieldsFrom, int fieldsTo,
                         int extraFrom, int extraTo) {
    }

    private static final class Malformed extends Exception {
        Malformed(String what) {
            super(what, null, false, false);
        }
    }

    private static final class Toc {
        private final byte[] b;
        private final int intSize;
        private int p;
        private int headerEnd;
        private final List<Entry> entries = new ArrayList<>();

        private Toc(byte[] b, int intSize) {
            this.b = b;
            this.intSize = intSize;
        }

        /** The parsed table of contents; null for a version or format this does not rewrite. */
        static Toc read(byte[] b) throws Malformed {
            if (b.length < 11 || !new String(b, 0, 5, StandardCharsets.US_ASCII).equals("PGDMP")) {
                return null;
            }
            int major = b[5];
            int minor = b[6];
            int intSize = b[8];
            if (major != 1 || minor < 12 || minor > 14 || (intSize != 4 && intSize != 8)
                    || b[10] != FORMAT_DIRECTORY) {
                return null;
            }
            Toc toc = new Toc(b, intSize);
            toc.p = 11;
            toc.readInt(); // compression
            for (int i = 0; i < 7; i++) {
                toc.readInt(); // creation time
            }
            toc.skipStr(); // database name
            toc.skipStr(); // server version
            toc.skipStr(); // pg_dump version
            toc.headerEnd = toc.p;
            long count = toc.readInt();
            if (count < 0 || count > MAX_ENTRIES) {
                throw new Malformed("entry count " + count);
            }
            for (long i = 0; i < count; i++) {
                toc.entries.add(toc.readEntry(minor));
            }
            if (toc.p != b.length) {
                throw new Malformed("bytes after the last entry");
            }
            return toc;
        }

        private Entry readEntry(int minor) throws Malformed {
            long id = readInt();
            if (id <= 0 || id > Integer.MAX_VALUE) {
                throw new Malformed("dump id " + id);
            }
            int fieldsFrom = p;
            readInt(); // has data
            skipStr(); // table oid
            skipStr(); // oid
            skipStr(); // tag
            String desc = readStr();
            long section = readInt();
            skipStr(); // definition
            skipStr(); // drop statement
            skipStr(); // copy statement
            skipStr(); // schema
            skipStr(); // tablespace
            if (minor >= 14) {
                skipStr(); // table access method
            }
            skipStr(); // owner
            skipStr(); // with oids
            int fieldsTo = p;
            int[] deps = new int[4];
            int count = 0;
            while (true) {
                String dep = readStr();
                if (dep == null) {
                    break;
                }
                if (!DUMP_ID.matcher(dep).matches()) {
                    throw new Malformed("dependency '" + dep + "'");
                }
                long value = Long.parseLong(dep);
                if (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE) {
                    throw new Malformed("dependency " + dep + " out of range");
                }
                if (count == deps.length) {
                    deps = Arrays.copyOf(deps, count * 2);
                }
                deps[count++] = (int) value;
            }
            int extraFrom = p;
            String file = readStr();
            return new Entry((int) id, desc, (int) section, Arrays.copyOf(deps, count), file, fieldsFrom, fieldsTo,
                    extraFrom, p);
        }

        byte[] renumbered(Map<String, Long> dataFileSizes) throws Malformed {
            Map<Integer, Entry> byId = new HashMap<>();
            for (Entry e : entries) {
                if (byId.put(e.id(), e) != null) {
                    throw new Malformed("dump id " + e.id() + " twice");
                }
            }
            // what pg_restore would take from stat(): each table's data size, and each post-data entry the largest
            // of the tables it depends on
            Map<Integer, Long> dataOfTable = new HashMap<>();
            Map<Integer, Long> size = new HashMap<>();
            for (Entry e : entries) {
                if ("TABLE DATA".equals(e.desc()) && e.file() != null) {
                    long s = Math.max(0, dataFileSizes.getOrDefault(e.file(), 0L));
                    size.put(e.id(), s);
                    if (e.deps().length > 0) {
                        // the table may have no entry of its own (an extension's configuration table, a data-only
                        // dump): its id is then left as it is, and post-data entries pointing at it still count
                        dataOfTable.merge(e.deps()[0], s, Math::max);
                    }
                }
            }
            for (Entry e : entries) {
                if (e.section() == SECTION_POST_DATA) {
                    for (int dep : e.deps()) {
                        Long s = dataOfTable.get(dep);
                        if (s != null) {
                            size.merge(e.id(), s, Math::max);
                        }
                    }
                }
            }
            List<Entry> order = new ArrayList<>(entries);
            order.sort(Comparator.comparingLong((Entry e) -> -size.getOrDefault(e.id(), 0L))
                    .thenComparingInt(Entry::id));
            int[] ids = entries.stream().mapToInt(Entry::id).sorted().toArray();
            Map<Integer, Integer> renumber = new HashMap<>();
            for (int i = 0; i < ids.length; i++) {
                renumber.put(order.get(i).id(), ids[i]);
            }

            ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + 64);
            out.write(b, 0, headerEnd);
            writeInt(out, entries.size());
            for (Entry e : entries) {
                writeInt(out, renumber.get(e.id()));
                out.write(b, e.fieldsFrom(), e.fieldsTo() - e.fieldsFrom());
                for (int dep : e.deps()) {
                    // an id not in the dump (an object pg_dump did not write) stays what it was: pg_restore ignores it
                    writeStr(out, String.valueOf(renumber.getOrDefault(dep, dep)));
                }
                writeStr(out, null);
                out.write(b, e.extraFrom(), e.extraTo() - e.extraFrom());
            }
            return out.toByteArray();
        }

        /** pg_dump's integer: a sign byte, then the magnitude in {@code intSize} bytes, least significant first. */
        private long readInt() throws Malformed {
            if (p + 1 + intSize > b.length) {
                throw new Malformed("truncated");
            }
            boolean negative = b[p] != 0;
            long v = 0;
            for (int i = 0; i < intSize; i++) {
                v |= (long) (b[p + 1 + i] & 0xff) << (8 * i);
            }
            p += 1 + intSize;
            if (v < 0 || v > Integer.MAX_VALUE) {
                throw new Malformed("integer out of range");
            }
            return negative ? -v : v;
        }

        /** A length, then that many bytes; a length of -1 is no string (null). */
        private String readStr() throws Malformed {
            long length = readInt();
            if (length < 0) {
                return null;
            }
            if (length > b.length - p) {
                throw new Malformed("string past the end");
            }
            String s = new String(b, p, (int) length, StandardCharsets.UTF_8);
            p += (int) length;
            return s;
        }

        private void skipStr() throws Malformed {
            long length = readInt();
            if (length > b.length - p) {
                throw new Malformed("string past the end");
            }
            if (length > 0) {
                p += (int) length;
            }
        }

        private void writeInt(ByteArrayOutputStream out, long v) {
            out.write(v < 0 ? 1 : 0);
            long m = Math.abs(v);
            for (int i = 0; i < intSize; i++) {
                out.write((int) (m >>> (8 * i)) & 0xff);
            }
        }

        private void writeStr(ByteArrayOutputStream out, String s) {
            if (s == null) {
                writeInt(out, -1);
                return;
            }
            byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
            writeInt(out, bytes.length);
            out.write(bytes, 0, bytes.length);
        }
    }
}
