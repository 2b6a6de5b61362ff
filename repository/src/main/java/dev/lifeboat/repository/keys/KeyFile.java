package dev.lifeboat.repository.keys;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;

/**
 * The JSON object {@code <prefix>/keys/repository-key.json}: the repository key set wrapped by a master key.
 * {@code wrapped} is base64 of nonce(12) || AES-256-GCM(masterKey, nonce, aad = {@value #AAD}, dataKey || idKey).
 *
 * @param createdAt  when the repository (and its key set) was created
 * @param wrappedAt  when the key set was last wrapped (creation or the latest master key rotation)
 */
public record KeyFile(int formatVersion, String algorithm, String masterKeyId, Instant createdAt, Instant wrappedAt,
                      String wrapped) {
    public static final int FORMAT_VERSION = 1;
    public static final String ALGORITHM = "AES-256-GCM";
    static final String AAD = "lifeboat-repository-keys-v1";

    public static KeyFile wrap(RepositoryKeys keys, MasterKey master, Instant createdAt, Instant now) {
        byte[] nonce = new byte[12];
        new SecureRandom().nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(master.bytes(), "AES"), new GCMParameterSpec(128, nonce));
            c.updateAAD(AAD.getBytes(StandardCharsets.US_ASCII));
            byte[] ct = c.doFinal(keys.concatenated());
            byte[] out = Arrays.copyOf(nonce, nonce.length + ct.length);
            System.arraycopy(ct, 0, out, nonce.length, ct.length);
            return new KeyFile(FORMAT_VERSION, ALGORITHM, master.id(), createdAt, now,
                    Base64.getEncoder().encodeToString(out));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    /** Unwraps with {@code master}; {@link WrongKeyException} when it is not the key this file was wrapped with. */
    public RepositoryKeys unwrap(MasterKey master, String location) {
        if (formatVersion != FORMAT_VERSION || !ALGORITHM.equals(algorithm)) {
            throw new IllegalStateException("unsupported key file at " + location + ": version " + formatVersion
                    + ", algorithm " + algorithm);
        }
        byte[] all = Base64.getDecoder().decode(wrapped);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(master.bytes(), "AES"), new GCMParameterSpec(128, all, 0, 12));
            c.updateAAD(AAD.getBytes(StandardCharsets.US_ASCII));
            return RepositoryKeys.split(c.doFinal(all, 12, all.length - 12));
        } catch (AEADBadTagException e) {
            throw new WrongKeyException(location, master.id(), masterKeyId);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }
}
