package dev.peftd.storage;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;

/** A real S3 API server in the JVM (S3Proxy over a temporary folder), with signature-checked credentials. */
public final class S3ProxyServer implements AutoCloseable {

    public static final String ACCESS_KEY = "peftd-access";
    public static final String SECRET_KEY = "peftd-secret-0123456789";

    private final S3Proxy proxy;
    private final Path root;

    public S3ProxyServer() throws Exception {
        root = Files.createTempDirectory("s3proxy");
        Properties properties = new Properties();
        properties.setProperty("jclouds.filesystem.basedir", root.toString());
        proxy = S3Proxy.builder()
                .blobStore(BlobStores.create("filesystem-nio2", properties))
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        proxy.start();
        while (!"STARTED".equals(proxy.getState())) {
            Thread.onSpinWait();
        }
    }

    public String endpoint() {
        return "http://127.0.0.1:" + proxy.getPort();
    }

    /** Settings as an operator would give them: endpoint, path-style, static credentials, a checksum mode. */
    public S3Settings settings(String bucket, String checksums) {
        return new S3Settings(bucket, "", endpoint(), "us-east-1", true, ACCESS_KEY, SECRET_KEY, checksums, true);
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
    }
}
