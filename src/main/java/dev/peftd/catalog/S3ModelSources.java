package dev.peftd.catalog;

import dev.peftd.kernel.Refusal;
import dev.peftd.storage.S3Settings;
import org.springframework.util.StringUtils;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The rules for {@code s3://} model sources: an S3 store must be configured (else the SDK walks its whole
 * credential chain, instance metadata included, and fails with a page of text), and the service's own artifact
 * store, where every tenant's adapters and merged models live, is not a model source. SDK failures reach clients as
 * one short line.
 */
final class S3ModelSources {

    private final S3Settings settings;

    S3ModelSources(S3Settings settings) {
        this.settings = settings;
    }

    /** Configured means somewhere to connect to or credentials to connect with, not the SDK's guesses. */
    boolean configured() {
        return settings.enabled() || StringUtils.hasText(settings.endpoint()) || StringUtils.hasText(settings.accessKey());
    }

    /** @throws Refusal a 400 about {@code source} */
    void check(ModelSource.S3 source) {
        if (!configured()) {
            throw Refusal.invalidField("source", "s3:// sources need an S3 store configured "
                    + "(PEFTD_STORAGE_S3_ENDPOINT or _BUCKET, with _ACCESS_KEY and _SECRET_KEY); this service has none");
        }
        if (settings.enabled() && source.bucket().equals(settings.bucket()) && overlapsStore(source.prefix())) {
            throw Refusal.invalidField("source", "s3:// sources may not read the service's own artifact store");
        }
    }

    private boolean overlapsStore(String prefix) {
        String store = settings.prefix() == null ? "" : settings.prefix();
        return prefix.startsWith(store) || store.startsWith(prefix);
    }

    /** One line for a client: the service's error code and status, or what kind of failure it was; no SDK dump. */
    static String summary(SdkException e) {
        if (e instanceof AwsServiceException service && service.awsErrorDetails() != null) {
            return service.awsErrorDetails().errorCode() + " (HTTP " + service.statusCode() + ")";
        }
        String message = String.valueOf(e.getMessage());
        if (message.contains("credentials")) {
            return "no usable S3 credentials (set PEFTD_STORAGE_S3_ACCESS_KEY and PEFTD_STORAGE_S3_SECRET_KEY)";
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return "cannot reach the S3 store (" + root.getClass().getSimpleName() + ")";
    }
}
