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
