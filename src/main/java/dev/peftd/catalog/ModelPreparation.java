package dev.peftd.catalog;

import ai.djl.Device;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.hub.HubClient;
import dev.peftd.core.hub.HubException;
import dev.peftd.core.hub.HubModelId;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.ops.DataDirectory;
import dev.peftd.storage.S3Settings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.springframework.stereotype.Component;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;
import tools.jackson.databind.json.JsonMapper;

/**
 * Makes a registered model usable: fetches its files into {@code <data dir>/models/<tenant>/<id>} when they are
 * remote, then checks them. Runs on the model-loading executor, never on a request thread.
 */
@Component
class ModelPreparation {

    record Prepared(Path dir, String architecture, Long parameters) {
    }

    private final DataDirectory dataDirectory;
    private final S3Settings s3;
    private final JsonMapper json;
    private final HubClient hubClient;

    ModelPreparation(DataDirectory dataDirectory, S3Settings s3, JsonMapper json, HubClient hubClient) {
        this.dataDirectory = dataDirectory;
        this.s3 = s3;
        this.json = json;
        this.hubClient = hubClient;
    }

    Prepared prepare(String tenant, String id, ModelSource source) throws IOException {
        Path dir;
        if (source instanceof ModelSource.Local local) {
            dir = local.dir();
        } else if (source instanceof ModelSource.S3 s3Source) {
            dir = downloadFromS3(s3Source, cacheDir(tenant, id));
        } else {
            ModelSource.Hub hub = (ModelSource.Hub) source;
            try {
                dir = hubClient.snapshot(new HubModelId(hub.repo(), hub.revision()));
            } catch (HubException | IllegalArgumentException e) {
                throw new IOException("hf://" + hub.repo() + "@" + hub.revision() + ": " + e.getMessage(), e);
            }
        }
        ModelFiles.check(dir, json);
        return new Prepared(dir, loadOnce(dir), null);
    }

    /**
     * Loads the model once on the CPU with the runtime's loader (config mapping, every weight tensor, shapes) and
     * frees it again: a model that reaches {@code ready} is one a worker can load.
     */
    private static String loadOnce(Path dir) throws IOException {
        ModelConfig config = ModelLoader.readConfig(dir);
        try (CausalLm model = ModelLoader.load(dir, Device.cpu())) {
            return model.config().architecture();
        } catch (RuntimeException e) {
            throw new IOException("cannot load " + config.architecture() + " from " + dir + ": " + e.getMessage(), e);
        }
    }

    private Path cacheDir(String tenant, String id) throws IOException {
        Path dir = dataDirectory.resolve("models").resolve(tenant).resolve(id);
        return Files.createDirectories(dir);
    }

    private Path downloadFromS3(ModelSource.S3 source, Path dir) throws IOException {
        try (S3Client client = s3.client()) {
            int count = 0;
            for (S3Object object : client.listObjectsV2Paginator(b -> b.bucket(source.bucket()).prefix(source.prefix()))
                    .contents()) {
                String relative = object.key().substring(source.prefix().length());
                if (relative.isEmpty() || relative.endsWith("/")) {
                    continue;
                }
                Path target = dir.resolve(relative).normalize();
                if (!target.startsWith(dir)) {
                    throw new IOException("object key '" + object.key() + "' escapes the model folder");
                }
                Files.createDirectories(target.getParent());
                try (InputStream in = client.getObject(b -> b.bucket(source.bucket()).key(object.key()))) {
                    Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                }
                count++;
            }
            if (count == 0) {
                throw new IOException("no objects under s3://" + source.bucket() + "/" + source.prefix());
            }
            return dir;
        } catch (SdkException e) {
            throw new IOException("s3://" + source.bucket() + "/" + source.prefix() + ": " + e.getMessage(), e);
        }
    }
}
