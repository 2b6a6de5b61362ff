package dev.lifeboat.catalog.service;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The fleet's id order is PostgreSQL's collation "C": the ids' UTF-8 bytes compared unsigned. */
class BytewiseOrderTest {
    private static final String ALPHABET = "az09-_.AZ\u00e9\u00ff\u0100\u07ff\u0800\ud7ff\ue000\uffff";

    @Test
    void comparesAsTheUtf8BytesDoForAsciiAccentsAndCharactersBeyondTheBasicPlane() {
        Random random = new Random(42);
        for (int round = 0; round < 200_000; round++) {
            String a = randomId(random);
            String b = random.nextInt(4) == 0 ? a + randomId(random) : randomId(random);
            int expected = Integer.signum(Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8),
                    b.getBytes(StandardCharsets.UTF_8)));
            assertEquals(expected, Integer.signum(FleetQueries.BYTEWISE.compare(a, b)), a + " vs " + b);
            assertEquals(-expected, Integer.signum(FleetQueries.BYTEWISE.compare(b, a)), b + " vs " + a);
        }
        // UTF-16 puts U+FFFF after the surrogate pairs of U+10000 and up; bytes (and code points) put it before
        String supplementary = new String(Character.toChars(0x1F600));
        assertEquals(-1, Integer.signum(FleetQueries.BYTEWISE.compare("db-\uffff", "db-" + supplementary)));
        assertEquals(0, FleetQueries.BYTEWISE.compare("db-" + supplementary, "db-" + supplementary));
    }

    private static String randomId(Random random) {
        StringBuilder s = new StringBuilder();
        int length = random.nextInt(6);
        for (int i = 0; i < length; i++) {
            if (random.nextInt(10) == 0) {
                s.appendCodePoint(0x10000 + random.nextInt(0x100000));
            } else {
                s.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
            }
        }
        return s.toString();
    }
}
