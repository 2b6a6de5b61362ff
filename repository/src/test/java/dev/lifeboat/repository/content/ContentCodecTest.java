package dev.lifeboat.repository.content;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ContentCodecTest {
    static byte[] key(int seed) {
        byte[] k = new byte[32];
        new Random(seed).nextBytes(k);
        return k;
    }

    final ContentCodec codec = new ContentCodec(key(1), key(2));

    @Test
    void roundTripAndFormat() {
        byte[] text = "SELECT 1;\n".repeat(10_000).getBytes(StandardCharsets.UTF_8);
        EncodedChunk e = codec.encode(text);
        assertThat(e.id()).hasSize(64).matches("[0-9a-f]+");
        assertThat(e.stored()[0]).isEqualTo(ContentCodec.VERSION);
        assertThat(e.stored().length).isLessThan(text.length / 10); // compressed
        assertThat(codec.decode(e.id(), e.stored())).isEqualTo(text);

        byte[] random = new byte[300_000];
        new Random(5).nextBytes(random);
        EncodedChunk r = codec.encode(random);
        assertThat(codec.decode(r.id(), r.stored())).isEqualTo(random);
    }

    /**
     * A writer that reuses its arrays encodes the first bytes of a larger array, compressed into a scratch array that
     * still holds an earlier chunk's bytes: what it stores is the chunk alone, under the chunk's own id.
     */
    @Test
    void aChunkAtTheStartOfALargerArrayEncodesAsItself() {
        byte[] text = "INSERT INTO t VALUES (42, 'x');\n".repeat(20_000).getBytes(StandardCharsets.UTF_8);
        byte[] array = new byte[text.length + 100_000];
        new Random(7).nextBytes(array);
        System.arraycopy(text, 0, array, 0, text.length);
        byte[] scratch = new byte[ContentCodec.scratchLength(array.length)];
        new Random(8).nextBytes(scratch);

        String id = codec.id(array, text.length);
        assertThat(id).isEqualTo(codec.id(text));
        EncodedChunk e = codec.encode(id, array, text.length, scratch);
        assertThat(e.size()).isEqualTo(text.length);
        assertThat(e.stored().length).isLessThan(text.length / 10);
        assertThat(codec.decode(id, e.stored())).isEqualTo(text);

        // and again in the same arrays, with a chunk that does not compress
        byte[] random = new byte[300_000];
        new Random(9).nextBytes(random);
        System.arraycopy(random, 0, array, 0, random.length);
        EncodedChunk r = codec.encode(codec.id(array, random.length), array, random.length, scratch);
        assertThat(codec.decode(codec.id(random), r.stored())).isEqualTo(random);
    }

    @Test
    void freshNoncePerChunk() {
        byte[] data = "same".getBytes(StandardCharsets.UTF_8);
        EncodedChunk a = codec.encode(data);
        EncodedChunk b = codec.encode(data);
        assertThat(a.id()).isEqualTo(b.id());
        assertThat(a.stored()).isNotEqualTo(b.stored());
    }

    @Test
    void idsDependOnTheIdKey() {
        byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
        assertThat(new ContentCodec(key(1), key(3)).id(data)).isNotEqualTo(codec.id(data));
    }

    @Test
    void aFlippedBitFailsAuthentication() {
        byte[] data = new byte[100_000];
        new Random(9).nextBytes(data);
        EncodedChunk e = codec.encode(data);
        for (int pos : new int[]{0, 5, 40, e.stored().length / 2, e.stored().length - 1}) {
            byte[] damaged = e.stored().clone();
            damaged[pos] ^= 0x10;
            assertThatThrownBy(() -> codec.decode(e.id(), damaged))
                    .isInstanceOf(ChunkIntegrityException.class)
                    .hasMessageStartingWith("chunk " + e.id() + ": ");
        }
    }

    @Test
    void storedUnderAnotherIdOrKeyIsRejected() {
        EncodedChunk a = codec.encode("a".getBytes(StandardCharsets.UTF_8));
        EncodedChunk b = codec.encode("b".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> codec.decode(b.id(), a.stored())).isInstanceOf(ChunkIntegrityException.class)
                .hasMessageContaining("authentication tag mismatch");
        assertThatThrownBy(() -> new ContentCodec(key(7), key(2)).decode(a.id(), a.stored()))
                .isInstanceOf(ChunkIntegrityException.class);
        assertThatThrownBy(() -> codec.decode(a.id(), new byte[10])).isInstanceOf(ChunkIntegrityException.class)
                .hasMessageContaining("truncated");
    }

    /**
     * The warm-up is for the optimising compiler: a JVM started without it (as the tests start the services and run
     * themselves) reports so and starts no warm-up; a JVM with the defaults has it and starts one.
     */
    @Test
    void theWarmUpIsSkippedInAJvmWithoutItsOptimisingCompiler() throws Exception {
        assertThat(ContentCodec.warmUpInBackground(0)).as("no rounds: nothing started").isFalse();
        assertThat(probe()).as("the JVM's defaults").contains("optimising=true started=true");
        assertThat(probe("-XX:TieredStopAtLevel=1")).contains("optimising=false started=false");
        assertThat(probe("-Xint")).contains("optimising=false started=false");
    }

    /** What {@link WarmUpProbe} says in a child JVM started with {@code options}. */
    private static String probe(String... options) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(options));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), WarmUpProbe.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("child JVM ended").isTrue();
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Run in a child JVM by the test above. */
    static final class WarmUpProbe {
        public static void main(String[] args) {
            System.out.println("optimising=" + ContentCodec.optimisingCompilerAvailable() + " started="
                    + ContentCodec.warmUpInBackground(ContentCodec.WARM_UP_ROUNDS));
        }
    }
}
