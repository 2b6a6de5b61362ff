package dev.lifeboat.catalog.ui;

import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;

/**
 * A sign-in under way, sealed into its cookie with AES-256-GCM under a key this process draws when it starts (and
 * never writes anywhere): the browser carries it, cannot read its nonce or PKCE verifier, and cannot alter it. A
 * restart draws a new key, which ends the sign-ins under way, as it ends the sessions.
 */
final class SealedState {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] PURPOSE = "lifeboat dashboard sign-in state v1".getBytes(StandardCharsets.US_ASCII);
    private static final int IV_BYTES = 12;
    private static final int TAG_BITS = 128;
    /** Far more than a sealed state takes (about 230 characters): anything longer is not one. */
    private static final int MAX_COOKIE = 1024;

    private final SecretKey key;

    SealedState() {
        try {
            KeyGenerator generator = KeyGenerator.getInstance("AES");
            generator.init(256, RANDOM);
            key = generator.generateKey();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256 is not available in this JVM", e);
        }
    }

    String seal(OidcSignInResource.Pending p) {
        byte[] plain = String.join(" ", p.state(), p.nonce(), p.verifier(),
                Long.toString(p.expiresAt().getEpochSecond())).getBytes(StandardCharsets.US_ASCII);
        byte[] iv = new byte[IV_BYTES];
        RANDOM.nextBytes(iv);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
            cipher.updateAAD(PURPOSE);
            byte[] sealed = cipher.doFinal(plain);
            byte[] out = new byte[IV_BYTES + sealed.length];
            System.arraycopy(iv, 0, out, 0, IV_BYTES);
            System.arraycopy(sealed, 0, out, IV_BYTES, sealed.length);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot seal a sign-in state", e);
        }
    }

    /** The sign-in the cookie carries; empty when it is not one this process sealed (forged, altered, or older). */
    Optional<OidcSignInResource.Pending> open(String cookie) {
        if (cookie == null || cookie.isEmpty() || cookie.length() > MAX_COOKIE) {
            return Optional.empty();
        }
        try {
            byte[] in = Base64.getUrlDecoder().decode(cookie);
            if (in.length <= IV_BYTES + TAG_BITS / 8) {
                return Optional.empty();
            }
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, in, 0, IV_BYTES));
            cipher.updateAAD(PURPOSE);
            String[] parts = new String(cipher.doFinal(in, IV_BYTES, in.length - IV_BYTES), StandardCharsets.US_ASCII)
                    .split(" ");
            if (parts.length != 4) {
                return Optional.empty();
            }
            return Optional.of(new OidcSignInResource.Pending(parts[0], parts[1], parts[2],
                    Instant.ofEpochSecond(Long.parseLong(parts[3]))));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            // not base64, not sealed by this key, or altered
            return Optional.empty();
        }
    }
}
