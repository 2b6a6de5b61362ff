package dev.lifeboat.repository.snapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

final class TestData {
    private TestData() {
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Text shaped like pg_dump COPY data: tab-separated rows of ids, names, e-mails, amounts and timestamps. */
    static byte[] tableText(int approxBytes, long seed) {
        String[] first = {"anna", "bernd", "chloe", "dmitri", "elif", "farid", "greta", "hiro", "ines", "jonas"};
        String[] last = {"meyer", "okafor", "rossi", "nguyen", "kowalski", "silva", "dubois", "tanaka", "haddad"};
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder(approxBytes + 200);
        for (long id = 1; sb.length() < approxBytes; id++) {
            String f = first[r.nextInt(first.length)];
            String l = last[r.nextInt(last.length)];
            sb.append(id).append('\t').append(f).append(' ').append(l).append('\t')
                    .append(f).append('.').append(l).append(r.nextInt(1000)).append("@example.org\t")
                    .append(r.nextInt(100_000)).append('.').append(r.nextInt(100)).append('\t')
                    .append("2024-").append(1 + r.nextInt(12)).append('-').append(1 + r.nextInt(28))
                    .append(' ').append(r.nextInt(24)).append(':').append(r.nextInt(60)).append(":00+00\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Relative path -> hex SHA-256 of every regular file under {@code dir}. */
    static Map<String, String> fingerprint(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                try {
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    try (var in = Files.newInputStream(p)) {
                        byte[] buf = new byte[1 << 16];
                        for (int n; (n = in.read(buf)) > 0; ) {
                            md.update(buf, 0, n);
                        }
                    }
                    out.put(dir.relativize(p).toString().replace('\\', '/'), HexFormat.of().formatHex(md.digest()));
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }
}
