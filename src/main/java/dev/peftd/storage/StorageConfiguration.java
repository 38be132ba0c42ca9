package dev.peftd.storage;

import dev.peftd.kernel.DataDirectory;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Picks the store: S3 when {@code PEFTD_STORAGE_S3_BUCKET} is set, else {@code <data dir>/objects}. */
@Configuration(proxyBeanMethods = false)
class StorageConfiguration {

    private static final Logger log = LoggerFactory.getLogger(StorageConfiguration.class);

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
