package dev.peftd.storage;

import dev.peftd.kernel.DataDirectory;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Picks the store: S3 when {@code PEFTD_STORAGE_S3_BUCKET} is set, else {@code <data dir>/objects}. */
@Configuration(proxyBeanMethods = false)
class StorageConfiguration {

    private static final Logger log = LoggerFactory.getLogger(StorageConfiguration.class);

    @Bean
    S3Settings s3Settings(
            @Value("${peftd.storage.s3.bucket:}") String bucket,
            @Value("${peftd.storage.s3.prefix:}") String prefix,
            @Value("${peftd.storage.s3.endpoint:}") String endpoint,
            @Value("${peftd.storage.s3.region:us-east-1}") String region,
            @Value("${peftd.storage.s3.path-style:false}") boolean pathStyle,
            @Value("${peftd.storage.s3.access-key:}") String accessKey,
            @Value("${peftd.storage.s3.secret-key:}") String secretKey,
            @Value("${peftd.storage.s3.checksums:when_supported}") String checksums,
            @Value("${peftd.storage.s3.create-bucket:false}") boolean createBucket) {
        return new S3Settings(bucket, prefix, endpoint, region, pathStyle, accessKey, secretKey, checksums, createBucket);
    }

    @Bean
    ArtifactStore artifactStore(S3Settings s3, DataDirectory dataDirectory) throws IOException {
        ArtifactStore store;
        if (s3.enabled()) {
            S3ArtifactStore s3Store = new S3ArtifactStore(s3.client(), s3.bucket(), s3.prefix());
            if (s3.createBucket()) {
                s3Store.createBucketIfMissing();
            }
            store = s3Store;
        } else {
            store = new FileSystemArtifactStore(dataDirectory.resolve("objects"));
        }
        log.info("artifact store: {}", store.location());
        return store;
    }
}
