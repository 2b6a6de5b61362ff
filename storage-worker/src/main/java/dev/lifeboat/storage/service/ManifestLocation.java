package dev.lifeboat.storage.service;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a chunked backup's manifest sits: {@code <prefix>/chains/<chainId>/manifests/<backupId>.json}. The
 * repository is everything before {@code /chains/}.
 */
public record ManifestLocation(String prefix, String chainId, String backupId) {
    private static final Pattern KEY = Pattern.compile("^(?:(.*)/)?chains/([^/]+)/manifests/([^/]+)\\.json$");

    public static Optional<ManifestLocation> parse(String objectKey) {
        if (objectKey == null) {
            return Optional.empty();
        }
        Matcher m = KEY.matcher(objectKey);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new ManifestLocation(m.group(1) == null ? "" : m.group(1), m.group(2), m.group(3)));
    }
}
