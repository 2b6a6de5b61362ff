package dev.lifeboat.kit.secrets;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A name for a secret, never the secret: {@code env:NAME} reads environment variable NAME of the process
 * that needs it, {@code file:/path} reads a file (a mounted Kubernetes secret, say). Events and the catalog
 * carry only the reference.
 */
public record SecretReference(String scheme, String name) {
    public static final String PATTERN = "^(env:[A-Za-z_][A-Za-z0-9_]*|file:/.+)$";
    private static final Pattern VALID = Pattern.compile(PATTERN);

    public static SecretReference parse(String ref) {
        if (ref == null || !VALID.matcher(ref).matches()) {
            throw new IllegalArgumentException("secret reference must be env:NAME or file:/absolute/path, got '"
                    + ref + "'");
        }
        int colon = ref.indexOf(':');
        return new SecretReference(ref.substring(0, colon), ref.substring(colon + 1));
    }

    /** The secret's value; the exception names the reference, never a value. */
    public String resolve() {
        if (scheme.equals("env")) {
            String v = System.getenv(name);
            if (v == null) {
                throw new IllegalStateException("secret " + this + " is not set: environment variable " + name
                        + " is missing in this worker's environment");
            }
            return v;
        }
        try {
            return Files.readString(Path.of(name), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalStateException("secret " + this + " cannot be read: " + e.getClass().getSimpleName()
                    + " " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return scheme + ":" + name;
    }
}
