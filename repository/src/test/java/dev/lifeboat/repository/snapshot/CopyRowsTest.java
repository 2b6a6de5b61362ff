package dev.lifeboat.repository.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import net.jpountz.xxhash.XXHash64;
import net.jpountz.xxhash.XXHashFactory;
import org.junit.jupiter.api.Test;

class CopyRowsTest {

    /** The sum the rows must come to: each line's XXH64 (seed 0, one-shot) as a signed long, summed exactly. */
    private static BigInteger expected(String... lines) {
        XXHash64 xxh64 = XXHashFactory.safeInstance().hash64();
        BigInteger sum = BigInteger.ZERO;
        for (String line : lines) {
            byte[] b = line.getBytes(StandardCharsets.UTF_8);
            sum = sum.add(BigInteger.valueOf(xxh64.hash(b, 0, b.length, 0)));
        }
        return sum;
    }

    /** The same for the earlier method: each line's first 64 MD5 bits. */
    private static BigInteger expectedMd5(String... lines) throws Exception {
        BigInteger sum = BigInteger.ZERO;
        for (String line : lines) {
            byte[] d = MessageDigest.getInstance("MD5").digest(line.getBytes(StandardCharsets.UTF_8));
            sum = sum.add(BigInteger.valueOf(new BigInteger(1, d).shiftRight(64).longValue()));
        }
        return sum;
    }

    @Test
    void eachLineIsHashedWithXxh64AsPublished() {
        // the reference values of XXH64 with seed 0: "abc" 0x44BC2CF5AD770999, "" 0xEF46DB3751D8E999
        CopyRows rows = new CopyRows();
        rows.update("abc\n\n".getBytes(StandardCharsets.US_ASCII), 0, 5);
        rows.end();
        assertThat(rows.count()).isEqualTo(2);
        assertThat(rows.hash()).isEqualTo(BigInteger.valueOf(0x44BC2CF5AD770999L)
                .add(BigInteger.valueOf(0xEF46DB3751D8E999L)).toString());
    }

    @Test
    void theLineHashIsXxh64AtEveryLengthAndOffset() {
        // lz4-java's XXH64 is the reference; every length up to past four stripes, at offsets that misalign the
        // words, over bytes of every value
        XXHash64 reference = XXHashFactory.safeInstance().hash64();
        byte[] b = new byte[400];
        new SplittableRandom(7).nextBytes(b);
        for (int off = 0; off < 9; off++) {
            for (int len = 0; off + len <= 300; len++) {
                assertThat(CopyRows.xxh64(b, off, len)).as("offset %d, length %d", off, len)
                        .isEqualTo(reference.hash(b, off, len, 0));
            }
        }
        // ranges that end where the array does, where a word read one byte too far would fail
        for (int len = 0; len <= 70; len++) {
            byte[] exact = java.util.Arrays.copyOfRange(b, 100, 100 + len);
            assertThat(CopyRows.xxh64(exact, 0, len)).as("a whole array of %d bytes", len)
                    .isEqualTo(reference.hash(exact, 0, len, 0));
            assertThat(CopyRows.xxh64(b, b.length - len, len)).as("the last %d bytes", len)
                    .isEqualTo(reference.hash(b, b.length - len, len, 0));
        }
        assertThatThrownBy(() -> CopyRows.xxh64(b, 390, 11)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void theNewlineFoundIsTheFirstInTheRangeWhereverItLies() {
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[1 + random.nextInt(40)];
            for (int i = 0; i < b.length; i++) {
                // bytes next to '\n' (0x09, 0x0b) and high ones, which a careless word trick takes for it
                int kind = random.nextInt(10);
                b[i] = (byte) (kind == 0 ? '\n' : kind == 1 ? 0x0b : kind == 2 ? 0x09 : kind == 3 ? 0x8a
                        : random.nextInt(256));
            }
            int from = random.nextInt(b.length + 1);
            int to = from + random.nextInt(b.length - from + 1);
            int expected = -1;
            for (int i = from; i < to; i++) {
                if (b[i] == '\n') {
                    expected = i;
                    break;
                }
            }
            assertThat(CopyRows.newline(b, from, to)).as("round %d", round).isEqualTo(expected);
        }
    }

    @Test
    void manyRowsInPiecesOfAnySizeComeToEachLinesXxh64Summed() {
        SplittableRandom random = new SplittableRandom(3);
        String[] lines = new String[2000];
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            StringBuilder line = new StringBuilder();
            int length = random.nextInt(i % 10 == 0 ? 700 : 90);
            for (int c = 0; c < length; c++) {
                line.append((char) (random.nextInt(5) == 0 ? '\t' : 'a' + random.nextInt(26)));
            }
            lines[i] = line.toString();
            data.append(lines[i]).append('\n');
        }
        byte[] bytes = data.toString().getBytes(StandardCharsets.UTF_8);
        for (int piece : new int[] {1, 7, 64, 4096, bytes.length}) {
            CopyRows rows = new CopyRows();
            for (int at = 0; at < bytes.length; at += piece) {
                rows.update(bytes, at, Math.min(piece, bytes.length - at));
            }
            rows.end();
            assertThat(rows.count()).as("pieces of %d", piece).isEqualTo(lines.length);
            assertThat(rows.hash()).as("pieces of %d", piece).isEqualTo(expected(lines).toString());
        }
    }

    @Test
    void backupsRecordedWithMd5AreStillHashedThatWay() throws Exception {
        String data = "1\ta\n2\t\\N\n\\.\n";
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        for (int piece = 1; piece <= bytes.length; piece++) {
            CopyRows rows = CopyRows.of(CopyRows.MD5_METHOD);
            for (int at = 0; at < bytes.length; at += piece) {
                rows.update(bytes, at, Math.min(piece, bytes.length - at));
            }
            rows.end();
            assertThat(rows.count()).isEqualTo(2);
            assertThat(rows.hash()).isEqualTo(expectedMd5("1\ta", "2\t\\N").toString());
        }
        assertThat(CopyRows.of(CopyRows.METHOD).hash()).isEqualTo("0");
        assertThat(CopyRows.computes("md5-sum64-v1")).isFalse();
    }

    @Test
    void rowsEndAtTheEndOfDataMarkerWhateverThePiecesTheyComeIn() throws Exception {
        String data = "1\ta\\tb\\nc\n2\t\\N\n3\t\\\\.\n\n\\.\n\nignored\n";
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        String want = expected("1\ta\\tb\\nc", "2\t\\N", "3\t\\\\.", "").toString();
        for (int piece = 1; piece <= bytes.length; piece++) {
            CopyRows rows = new CopyRows();
            for (int at = 0; at < bytes.length; at += piece) {
                rows.update(bytes, at, Math.min(piece, bytes.length - at));
            }
            rows.end();
            assertThat(rows.count()).as("pieces of %d bytes", piece).isEqualTo(4);
            assertThat(rows.hash()).as("pieces of %d bytes", piece).isEqualTo(want);
        }
    }

    @Test
    void rowsOnlyCountedComeToTheSameCountAndHaveNoHash() {
        String data = "1\ta\\tb\\nc\n2\t\\N\n3\t\\\\.\n\n\\.\n\nignored\n";
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        for (int piece = 1; piece <= bytes.length; piece++) {
            CopyRows rows = CopyRows.counting();
            for (int at = 0; at < bytes.length; at += piece) {
                rows.update(bytes, at, Math.min(piece, bytes.length - at));
            }
            rows.end();
            assertThat(rows.count()).as("pieces of %d bytes", piece).isEqualTo(4);
        }
        CopyRows unended = CopyRows.counting();
        unended.update("1\n2".getBytes(StandardCharsets.US_ASCII), 0, 3);
        unended.end();
        assertThat(unended.count()).as("a last line without its newline").isEqualTo(2);
        assertThatThrownBy(unended::hash).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theSumIsExactBeyondTheRangeOfALong() throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        String[] lines = new String[20000];
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            lines[i] = i + "\t" + Long.toHexString(random.nextLong());
            all.append(lines[i]).append('\n');
        }
        BigInteger want = expected(lines);
        assertThat(want.abs()).isGreaterThan(BigInteger.valueOf(Long.MAX_VALUE));
        CopyRows rows = new CopyRows();
        try (OutputStream out = rows.sink()) {
            out.write(all.toString().getBytes(StandardCharsets.UTF_8));
        }
        rows.end();
        assertThat(rows.count()).isEqualTo(lines.length);
        assertThat(rows.hash()).isEqualTo(want.toString());
    }

    @Test
    void aStreamReadToItsEndReportsItsRowsAndOneClosedEarlyDoesNot() throws Exception {
        byte[] bytes = "a\nb\n\\.\n\n".getBytes(StandardCharsets.UTF_8);
        AtomicReference<CopyRows> got = new AtomicReference<>();
        try (InputStream in = CopyRows.hashing(new ByteArrayInputStream(bytes), got::set)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        assertThat(got.get().count()).isEqualTo(2);
        assertThat(got.get().hash()).isEqualTo(expected("a", "b").toString());

        AtomicReference<CopyRows> early = new AtomicReference<>();
        try (InputStream in = CopyRows.hashing(new ByteArrayInputStream(bytes), early::set)) {
            in.read(new byte[3]);
        }
        assertThat(early.get()).isNull();
    }
}
