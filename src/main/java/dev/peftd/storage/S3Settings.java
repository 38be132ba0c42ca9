package dev.peftd.storage;

import dev.peftd.kernel.Settings;
import java.net.URI;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.StringUtils;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * How to reach an S3-compatible store ({@code PEFTD_STORAGE_S3_*}). {@code checksums=when_required} turns off the
 * CRC32 checksums that SDK 2.30+ adds by default, which several S3-compatible stores reject (aws-sdk-java-v2#5801).
 *
 * @param bucket    the artifact bucket; blank means "no S3 store" (the filesystem store is used)
 * @param prefix    optional key prefix inside the bucket, e.g. {@code peftd/}
 * @param endpoint  blank for AWS itself, else e.g. {@code http://seaweedfs:8333}
 * @param accessKey blank to use the SDK's default credential chain (env, profile, IRSA, instance role)
 */
@ConfigurationProperties("peftd.storage.s3")
public record S3Settings(String bucket, String prefix, String endpoint, String region, boolean pathStyle,
                         String accessKey, String secretKey, String checksums, boolean createBucket) {

    public S3Settings {
        bucket = Settings.text(bucket);
        prefix = Settings.text(prefix);
        endpoint = Settings.text(endpoint);
        region = Settings.text(region);
        accessKey = Settings.text(accessKey);
        secretKey = Settings.text(secretKey);
        checksums = Settings.text(checksums);
        if (!checksums.isEmpty() && !"when_supported".equalsIgnoreCase(checksums)
                && !"when_required".equalsIgnoreCase(checksums)) {
            throw new IllegalArgumentException("peftd.storage.s3.checksums (PEFTD_STORAGE_S3_CHECKSUMS) must be "
                    + "when_supported or when_required, got '" + checksums + "'");
        }
    }

    public boolean enabled() {
        return StringUtils.hasText(bucket);
    }

    /** A client for these settings; also used for {@code s3://} model sources in other buckets of the same store. */
    public S3Client client() {
        var builder = S3Client.builder()
                .httpClient(UrlConnectionHttpClient.create())
                .region(Region.of(StringUtils.hasText(region) ? region : "us-east-1"))
                .forcePathStyle(pathStyle)
                .credentialsProvider(credentials());
        if (StringUtils.hasText(endpoint)) {
            builder.endpointOverride(URI.create(endpoint));
        }
        if ("when_required".equalsIgnoreCase(checksums)) {
            builder.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        return builder.build();
    }

    private AwsCredentialsProvider credentials() {
        if (StringUtils.hasText(accessKey)) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey));
        }
        return DefaultCredentialsProvider.builder().build();
    }
}
