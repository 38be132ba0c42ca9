package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where a base model's files come from: a local folder ({@code file:///abs/dir}), the Hugging Face Hub
 * ({@code hf://org/name[@revision]}) or an S3 prefix ({@code s3://bucket/prefix}). Parsing refuses anything that could
 * climb out of where it points ({@code ..} segments, encoded dots, relative paths) and names the reason. Which local
 * folders may be read is {@link LocalModelFolders}'s decision, made against the file system.
 */
sealed interface ModelSource {

    record Local(Path dir) implements ModelSource {
    }

    record Hub(String repo, String revision) implements ModelSource {
    }

    record S3(String bucket, String prefix) implements ModelSource {
    }

    Pattern HUB_REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}");
    Pattern HUB_REVISION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_./-]{0,127}");
    Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    Pattern S3_PREFIX = Pattern.compile("[A-Za-z0-9_.=/-]{0,1000}");

    static ModelSource parse(String source) {
        if (source == null || source.isBlank()) {
            throw Refusal.invalidField("source", "missing; use file:///dir, hf://org/name[@revision] or s3://bucket/prefix");
        }
        if (source.contains("%") || source.contains("\\")) {
            throw Refusal.invalidField("source", "must not contain '%' escapes or backslashes");
        }
        if (source.startsWith("file://")) {
            return local(source);
        }
        if (source.startsWith("hf://")) {
            return hub(source.substring("hf://".length()));
        }
        if (source.startsWith("s3://")) {
            return s3(source.substring("s3://".length()));
        }
        throw Refusal.invalidField("source", "unknown scheme in '" + source + "'; use file://, hf:// or s3://");
    }

    private static ModelSource local(String source) {
        URI uri;
        try {
            uri = new URI(source);
        } catch (URISyntaxException e) {
            throw Refusal.invalidField("source", "not a valid file URI: " + e.getReason());
        }
        String path = uri.getPath();
        // file://dir/x would name host "dir": only file:///abs/dir (or file://localhost/abs/dir) is a local folder
        boolean local = uri.getAuthority() == null || uri.getAuthority().equals("localhost");
        if (!local || path == null || !path.startsWith("/")) {
            throw Refusal.invalidField("source", "file:// sources need an absolute path (file:///dir)");
        }
        rejectDotSegments(path);
        return new Local(Path.of(path).normalize());
    }

    private static ModelSource hub(String rest) {
        String repo = rest;
        String revision = "main";
        int at = rest.indexOf('@');
        if (at >= 0) {
            repo = rest.substring(0, at);
            revision = rest.substring(at + 1);
            if (!HUB_REVISION.matcher(revision).matches() || revision.contains("..")) {
                throw Refusal.invalidField("source", "revision '" + revision + "' is not a branch, tag or commit");
            }
        }
        if (!HUB_REPO.matcher(repo).matches() || repo.contains("..")) {
            throw Refusal.invalidField("source", "hf:// needs a repository id 'org/name', got '" + repo + "'");
        }
        return new Hub(repo, revision);
    }

    private static ModelSource s3(String rest) {
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        if (!BUCKET.matcher(bucket).matches()) {
            throw Refusal.invalidField("source", "'" + bucket + "' is not a valid S3 bucket name");
        }
        if (!S3_PREFIX.matcher(prefix).matches()) {
            throw Refusal.invalidField("source", "S3 prefix '" + prefix + "' has characters outside [A-Za-z0-9_.=/-]");
        }
        rejectDotSegments(prefix);
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        return new S3(bucket, prefix);
    }

    private static void rejectDotSegments(String path) {
        for (String segment : path.split("/")) {
            if (segment.equals("..") || segment.equals(".")) {
                throw Refusal.invalidField("source", "path segments '.' and '..' are not allowed");
            }
        }
    }
}
