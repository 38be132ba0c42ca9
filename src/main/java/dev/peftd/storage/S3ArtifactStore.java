package dev.peftd.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Objects in one bucket of an S3-compatible store (AWS SDK v2). SDK failures surface as {@link IOException}s naming
 * the bucket and key, so callers handle one kind of error for both stores.
 */
final class S3ArtifactStore implements ArtifactStore {

    private final S3Client s3;
    private final String bucket;
    private final String prefix;

    S3ArtifactStore(S3Client s3, String bucket, String prefix) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix == null || prefix.isBlank() ? "" : (prefix.endsWith("/") ? prefix : prefix + "/");
    }

    /** Creates the bucket when it does not exist (development stores; production buckets are provisioned). */
    void createBucketIfMissing() throws IOException {
        try {
            s3.headBucket(b -> b.bucket(bucket));
        } catch (NoSuchBucketException e) {
            call(() -> s3.createBucket(b -> b.bucket(bucket)), "create bucket");
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw new IOException("s3://" + bucket + ": " + e.getMessage(), e);
            }
            call(() -> s3.createBucket(b -> b.bucket(bucket)), "create bucket");
        }
    }

    @Override
    public void put(String key, Path file) throws IOException {
        call(() -> s3.putObject(b -> b.bucket(bucket).key(prefix + key), RequestBody.fromFile(file)), "put " + key);
    }

    @Override
    public InputStream open(String key) throws IOException {
        try {
            return s3.getObject(b -> b.bucket(bucket).key(prefix + key));
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException(key, null, "no object with this key in " + location());
        } catch (SdkException e) {
            throw new IOException(location() + ": get " + key + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            s3.headObject(b -> b.bucket(bucket).key(prefix + key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw new IOException(location() + ": head " + key + ": " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> list(String keyPrefix) throws IOException {
        try {
            return s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix + keyPrefix)).contents().stream()
                    .map(S3Object::key)
                    .map(k -> k.substring(prefix.length()))
                    .sorted()
                    .toList();
        } catch (SdkException e) {
            throw new IOException(location() + ": list " + keyPrefix + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        call(() -> s3.deleteObject(b -> b.bucket(bucket).key(prefix + key)), "delete " + key);
    }

    @Override
    public String location() {
        return "s3://" + bucket + "/" + prefix;
    }

    @Override
    public void probe() throws IOException {
        call(() -> s3.headBucket(b -> b.bucket(bucket)), "head bucket");
    }

    private void call(Runnable operation, String what) throws IOException {
        try {
            operation.run();
        } catch (SdkException e) {
            throw new IOException(location() + ": " + what + ": " + e.getMessage(), e);
        }
    }
}
