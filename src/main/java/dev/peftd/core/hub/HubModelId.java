package dev.peftd.core.hub;

import java.util.regex.Pattern;

/**
 * A model on the Hugging Face Hub: {@code org/name} at a revision (branch, tag or commit sha; {@code main} when
 * not given). Written as {@code hf://org/name@revision} on the command line and in job requests.
 */
public record HubModelId(String repo, String revision) {

    public static final String SCHEME = "hf://";
    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]*");

    public HubModelId {
        if (repo == null || !REPO.matcher(repo).matches() || repo.contains("..")) {
            throw new IllegalArgumentException("Hub repo id '" + repo + "' is not of the form org/name");
        }
        if (revision == null || !REVISION.matcher(revision).matches() || revision.contains("..")) {
            throw new IllegalArgumentException("Hub revision '" + revision + "' of " + repo
                    + " is not a branch, tag or commit sha");
        }
    }

    /** Parses {@code hf://org/name[@revision]}. */
    public static HubModelId parse(String uri) {
        if (!isHubUri(uri)) {
            throw new IllegalArgumentException("'" + uri + "' is not a Hub model id (expected hf://org/name[@revision])");
        }
        String rest = uri.substring(SCHEME.length());
        int at = rest.indexOf('@');
        return at < 0 ? new HubModelId(rest, "main") : new HubModelId(rest.substring(0, at), rest.substring(at + 1));
    }

    public static boolean isHubUri(String value) {
        return value != null && value.startsWith(SCHEME);
    }

    /** The revision is already a full commit sha: the files it names can never change. */
    public boolean isPinnedToCommit() {
        return revision.matches("[0-9a-f]{40}");
    }

    @Override
    public String toString() {
        return SCHEME + repo + "@" + revision;
    }
}
