package dev.lifeboat.repository.snapshot;

import java.io.IOException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import static org.assertj.core.api.Assertions.assertThat;

/** A manifest changed in the bucket, as someone who can write there might (tests of this module and the workers'). */
public final class ManifestEdits {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private ManifestEdits() {
    }

    /** The manifest {@code json} listing only the file {@code path}, so fewer chunks seem referenced. */
    public static byte[] listingOnly(byte[] json, String path) throws IOException {
        ObjectNode tree = (ObjectNode) MAPPER.readTree(json);
        ArrayNode files = MAPPER.createArrayNode();
        tree.withArray("files").forEach(f -> {
            if (path.equals(f.get("path").asText())) {
                files.add(f);
            }
        });
        assertThat(files).as("files named %s", path).hasSize(1);
        tree.set("files", files);
        return MAPPER.writeValueAsBytes(tree);
    }
}
