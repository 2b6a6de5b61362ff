package dev.lifeboat.kit.secrets;

import java.util.regex.Pattern;

/**
 * A name for a secret, never the secret: {@code env:NAME} names environment variable NAME of the process
 * that needs it, {@code file:/path} a file (a mounted Kubernetes secret, say). Events and the catalog carry only
 * the reference. This is the syntax alone: only {@link SecretPolicy} decides whether a reference may be resolved,
 * and resolves it.
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

    @Override
    public String toString() {
        return scheme + ":" + name;
    }
}
