package dev.lifeboat.snapshot.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.lifeboat.kit.secrets.SecretPolicy;
import dev.lifeboat.snapshot.domain.CommandFailure;

/**
 * The CA certificates registered target servers name ({@code sslRootCertRef}), read under the secret policy on this
 * machine when a command's target is checked against the registry ({@link RegisteredTargets}) and placed in a
 * directory of this process's own (mode 700, a random name), where the JDBC driver and pg_restore open them. A file
 * is named after its content's SHA-256 and written whole before it is renamed into place, so a reference read again
 * with new content gets a new file and a connection never reads a half-written one. Content that is not an X.509
 * certificate is refused (the reference could name any file in the secret directories).
 */
final class TargetCa {
    private static final Map<String, Path> PLACED = new ConcurrentHashMap<>();
    private static volatile Path directory;

    private TargetCa() {
    }

    /** Reads the certificate {@code ref} names and returns the file a connection reads it from. */
    static Path place(SecretPolicy secrets, String server, String ref) {
        byte[] ca;
        try {
            ca = secrets.readFile("sslRootCertRef", ref, SecretPolicy.MAX_CERTIFICATE_BYTES);
        } catch (RuntimeException e) {
            throw new CommandFailure("the CA certificate of target server '" + server + "' cannot be read: "
                    + e.getMessage());
        }
        try {
            java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificates(new java.io.ByteArrayInputStream(ca));
        } catch (java.security.cert.CertificateException e) {
            throw new CommandFailure("the CA certificate of target server '" + server + "' (" + ref + ") is not a "
                    + "PEM or DER X.509 certificate: " + e.getMessage());
        }
        try {
            Path file = directory().resolve(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(ca)) + ".crt");
            if (!Files.exists(file)) {
                Path partial = Files.createTempFile(directory(), "ca", ".partial");
                Files.write(partial, ca);
                Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            PLACED.put(ref, file);
            return file;
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new CommandFailure("cannot place the CA certificate of target server '" + server + "': " + e);
        }
    }

    /** The file {@link #place} put the certificate {@code ref} names in; a refusal when it did not. */
    static Path placed(String ref) {
        Path file = PLACED.get(ref);
        if (file == null) {
            throw new CommandFailure("the CA certificate " + ref + " was not read with the target's registration; "
                    + "no connection is made without it");
        }
        return file;
    }

    /** This process's directory, made again when something removed it (a cleaner of /tmp). */
    private static Path directory() throws IOException {
        Path d = directory;
        if (d == null || !Files.isDirectory(d)) {
            synchronized (TargetCa.class) {
                if (directory == null || !Files.isDirectory(directory)) {
                    directory = Files.createTempDirectory("lifeboat-target-ca-",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                }
                d = directory;
            }
        }
        return d;
    }
}
