package dev.peftd.core.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;

/**
 * A repository at one commit, from {@code GET /api/models/{repo}/revision/{rev}?blobs=true}: the commit sha and
 * the files with their sizes and, for LFS files, sha256.
 */
record RepoManifest(String commitSha, List<RepoFile> files) {

    /** @param sha256 lower-case hex for LFS files, {@code null} for small files stored in git */
    record RepoFile(String path, long size, String sha256) {
    }

    static RepoManifest parse(String json, HubModelId id) {
        try {
            JsonObject root = JsonParser.parseString(json).getAsJsonObject();
            String sha = root.get("sha").getAsString();
            List<RepoFile> files = new ArrayList<>();
            for (JsonElement sibling : root.getAsJsonArray("siblings")) {
                JsonObject s = sibling.getAsJsonObject();
                JsonObject lfs = s.has("lfs") && s.get("lfs").isJsonObject() ? s.getAsJsonObject("lfs") : null;
                long size = lfs != null && lfs.has("size") ? lfs.get("size").getAsLong()
                        : s.has("size") ? s.get("size").getAsLong() : -1;
                files.add(new RepoFile(s.get("rfilename").getAsString(), size,
                        lfs != null && lfs.has("sha256") ? lfs.get("sha256").getAsString() : null));
            }
            if (!sha.matches("[0-9a-f]{40}")) {
                throw new HubException("Hub answered for " + id + " with commit '" + sha + "', not a sha");
            }
            return new RepoManifest(sha, files);
        } catch (RuntimeException e) {
            if (e instanceof HubException) {
                throw e;
            }
            throw new HubException("Hub answered for " + id + " with unexpected JSON (no sha/siblings): " + e.getMessage(), e);
        }
    }
}
