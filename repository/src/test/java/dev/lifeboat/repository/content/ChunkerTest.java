package dev.lifeboat.repository.content;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkerTest {
    static final ContentCodec CODEC = new ContentCodec(new byte[32], new byte[32]);

    static List<byte[]> chunks(byte[] data, Chunker.Sizes sizes) throws IOException {
        // a stream that returns odd-sized reads, as sockets and pipes do
        Chunker c = new Chunker(new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 70_001));
            }
        }, sizes);
        List<byte[]> out = new ArrayList<>();
        for (byte[] b; (b = c.next()) != null; ) {
            out.add(b);
        }
        return out;
    }

    /**
     * A caller that reuses its arrays asks each chunk's length first ({@link Chunker#peek}, as often as it likes),
     * then takes it: the chunks are the ones {@link Chunker#next()} returns, cut at the same places.
     */
    @Test
    void chunksTakenIntoAReusedArrayAreTheSameChunks() throws IOException {
        byte[] data = random(9 * 1024 * 1024 + 17, 3);
        List<byte[]> expected = chunks(data, Chunker.Sizes.DEFAULT);
        Chunker c = new Chunker(new ByteArrayInputStream(data), Chunker.Sizes.DEFAULT);
        byte[] into = new byte[Chunker.Sizes.DEFAULT.max()];
        List<byte[]> taken = new ArrayList<>();
        for (int n; (n = c.peek()) > 0; ) {
            assertThat(c.peek()).isEqualTo(n);
            assertThat(c.take(into)).isEqualTo(n);
            taken.add(java.util.Arrays.copyOf(into, n));
        }
        assertThat(taken).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(taken.get(i)).as("chunk %d", i).isEqualTo(expected.get(i));
        }
        assertThat(c.peek()).isZero();
        assertThat(c.next()).isNull();

        Chunker small = new Chunker(new ByteArrayInputStream(data), Chunker.Sizes.DEFAULT);
        int first = small.peek();
        assertThatThrownBy(() -> small.take(new byte[first - 1]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the next chunk has " + first);
        assertThat(small.take(new byte[first])).isEqualTo(first);
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void chunksRespectBoundsAndConcatenateToTheInput() throws IOException {
        byte[] data = random(12 * 1024 * 1024 + 5, 1);
        List<byte[]> chunks = chunks(data, Chunker.Sizes.DEFAULT);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int i = 0; i < chunks.size(); i++) {
            byte[] c = chunks.get(i);
            assertThat(c.length).isLessThanOrEqualTo(2 * 1024 * 1024);
            if (i < chunks.size() - 1) {
                assertThat(c.length).isGreaterThan(128 * 1024);
            }
            joined.writeBytes(c);
        }
        assertThat(joined.toByteArray()).isEqualTo(data);
        double avg = (double) data.length / chunks.size();
        assertThat(avg).isBetween(256.0 * 1024, 1024.0 * 1024);
    }

    /**
     * Where chunks are cut decides which chunks a new backup shares with the ones before it: the cuts of a fixed
     * input are pinned, so that no change to how the chunker reads its input moves them (a moved cut would upload a
     * whole chain's data again).
     */
    @Test
    void cutsOfAFixedInputNeverMove() throws IOException {
        byte[] data = random(9 * 1024 * 1024 + 12345, 20261204L);
        // a long run of one byte: cuts at the largest size
        java.util.Arrays.fill(data, 3_000_000, 5_500_000, (byte) 7);
        List<Integer> large = chunks(data, Chunker.Sizes.DEFAULT).stream().map(c -> c.length).toList();
        List<Integer> small = chunks(data, new Chunker.Sizes(64, 256, 1024)).stream().map(c -> c.length).toList();

        assertThat(large).hasSize(12).startsWith(599521, 840632, 596067, 525416, 2097152, 1048427, 472953, 258546);
        assertThat(large.hashCode()).isEqualTo(-1584085368);
        assertThat(small).hasSize(26287).startsWith(502, 314, 258, 361, 354, 330, 278, 404);
        assertThat(small.hashCode()).isEqualTo(-1547833578);
    }

    @Test
    void boundariesStayStableWhenBytesAreInsertedAtTheFront() throws IOException {
        byte[] original = random(16 * 1024 * 1024, 2);
        byte[] prefix = random(1234, 3);
        byte[] shifted = new byte[prefix.length + original.length];
        System.arraycopy(prefix, 0, shifted, 0, prefix.length);
        System.arraycopy(original, 0, shifted, prefix.length, original.length);

        List<String> before = chunks(original, Chunker.Sizes.DEFAULT).stream().map(CODEC::id).toList();
        Set<String> after = new HashSet<>(chunks(shifted, Chunker.Sizes.DEFAULT).stream().map(CODEC::id).toList());
        long reappearing = before.stream().filter(after::contains).count();
        assertThat(before.size()).isGreaterThan(10);
        assertThat((double) reappearing / before.size()).as("share of original chunks found after the insertion")
                .isGreaterThanOrEqualTo(0.85);
    }

    @Test
    void emptyAndTinyInputs() throws IOException {
        assertThat(chunks(new byte[0], Chunker.Sizes.DEFAULT)).isEmpty();
        assertThat(chunks(new byte[]{1, 2, 3}, Chunker.Sizes.DEFAULT)).singleElement()
                .satisfies(c -> assertThat(c).containsExactly(1, 2, 3));
    }

    @Test
    void sizesAreValidated() {
        assertThatThrownBy(() -> new Chunker.Sizes(1024, 3000, 8192)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Chunker.Sizes(8192, 4096, 16384)).isInstanceOf(IllegalArgumentException.class);
    }
}
