package dev.lifeboat.identity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * An RSA key pair that signs the local run's and the tests' tokens: {@code private.pem} (PKCS#8, readable by its
 * owner only) and {@code public.pem} (X.509), the file the services verify tokens with
 * ({@code mp.jwt.verify.publickey.location}). Created once per directory; later calls load it. Creation holds a
 * file lock so that concurrent test JVMs agree on one pair.
 */
public record SigningKeys(Path directory, PrivateKey privateKey, PublicKey publicKey) {
    public static final String PRIVATE_FILE = "private.pem";
    public static final String PUBLIC_FILE = "public.pem";

    public static SigningKeys loadOrCreate(Path directory) {
        try {
            Files.createDirectories(directory);
            try (FileChannel lock = FileChannel.open(directory.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = lock.lock()) {
                Path priv = directory.resolve(PRIVATE_FILE);
                Path pub = directory.resolve(PUBLIC_FILE);
                if (!Files.isRegularFile(priv) || !Files.isRegularFile(pub)) {
                    KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
                    gen.initialize(2048);
                    KeyPair pair = gen.generateKeyPair();
                    writePem(priv, "PRIVATE KEY", pair.getPrivate().getEncoded(), true);
                    writePem(pub, "PUBLIC KEY", pair.getPublic().getEncoded(), false);
                }
                KeyFactory rsa = KeyFactory.getInstance("RSA");
                return new SigningKeys(directory,
                        rsa.generatePrivate(new PKCS8EncodedKeySpec(readPem(priv))),
                        rsa.generatePublic(new X509EncodedKeySpec(readPem(pub))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create or read the token signing keys in " + directory, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the token signing keys in " + directory + " are not an RSA key pair: "
                    + e.getMessage(), e);
        }
    }

    public Path publicKeyFile() {
        return directory.resolve(PUBLIC_FILE);
    }

    private static void writePem(Path file, String type, byte[] der, boolean secret) throws IOException {
        String pem = "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        if (secret) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static byte[] readPem(Path file) throws IOException {
        String body = Files.readString(file, StandardCharsets.US_ASCII).replaceAll("-----[A-Z ]+-----", "")
                .replaceAll("\\s", "");
        return Base64.getDecoder().decode(body);
    }
}
