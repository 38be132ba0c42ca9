package dev.peftd.catalog;

import ai.djl.Device;
import dev.peftd.core.model.CausalLm;
import dev.peftd.core.model.ModelConfig;
import dev.peftd.core.hub.HubClient;
import dev.peftd.core.hub.HubException;
import dev.peftd.core.hub.HubModelId;
import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.ModelLoader;
import dev.peftd.kernel.DataDirectory;
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
 * remote, then checks them: layout, config.json values, the tokenizer (loaded, and a probe text encoded), and a full
 * load of the weights. Runs on the model-loading executor, never on a request thread. Failures leave as
 * {@link Failed}, with no server-side path in them.
 */
@Component
class ModelPreparation {

    record Prepared(Path dir, String architecture, Long parameters) {
    }

    /** A preparation that failed, described for the client. */
    static final class Failed extends Exception {
        final ModelFailure failure;

        Failed(ModelFailure failure, Throwable cause) {
            super(failure.message(), cause);
            this.failure = failure;
        }
    }

    private final DataDirectory dataDirectory;
    private final S3Settings s3;
    private final JsonMapper json;
    private final HubClient hubClient;
    private final LocalModelFolders localFolders;

    ModelPreparation(DataDirectory dataDirectory, S3Settings s3, JsonMapper json, HubClient hubClient,
            LocalModelFolders localFolders) {
        this.dataDirectory = dataDirectory;
        this.s3 = s3;
        this.json = json;
        this.hubClient = hubClient;
        this.localFolders = localFolders;
    }

    /** @param dtype the type serving will load it in: the check loads it in that type too */
    Prepared prepare(String tenant, String id, ModelSource source, ModelDtype dtype) throws Failed {
        Path dir = null;
        try {
            dir = fetch(tenant, id, source);
            ModelFiles.check(dir, json);
            ModelConfig config = ModelLoader.readConfig(dir);
            TokenizerProbe.check(dir, config);
            return new Prepared(dir, loadOnce(dir, dtype), null);
        } catch (Exception e) {
            throw new Failed(ModelFailure.of(e, dir, dataDirectory.root()), e);
        }
    }

    private Path fetch(String tenant, String id, ModelSource source) throws IOException {
        if (source instanceof ModelSource.Local local) {
            // checked again here, on the real path it will be read from: the folder may have changed since registration
            return localFolders.check(local.dir());
        }
        if (source instanceof ModelSource.S3 s3Source) {
            return downloadFromS3(s3Source, cacheDir(tenant, id));
        }
        ModelSource.Hub hub = (ModelSource.Hub) source;
        try {
            return hubClient.snapshot(new HubModelId(hub.repo(), hub.revision()));
        } catch (HubException | IllegalArgumentException e) {
            throw new ModelFailure.SourceException("hf://" + hub.repo() + "@" + hub.revision() + ": " + e.getMessage());
        }
    }

    /**
     * Loads the model once on the CPU with the runtime's loader (config mapping, every weight tensor, shapes) and
     * frees it again: a model that reaches {@code ready} is one a worker can load.
     */
    private static String loadOnce(Path dir, ModelDtype dtype) throws IOException {
        try (CausalLm model = ModelLoader.load(dir, Device.cpu(), dtype)) {
            return model.config().architecture();
        }
    }

    private Path cacheDir(String tenant, String id) throws IOException {
        Path dir = dataDirectory.resolve("models").resolve(tenant).resolve(id);
        return Files.createDirectories(dir);
    }

    private Path downloadFromS3(ModelSource.S3 source, Path dir) throws IOException {
        String uri = "s3://" + source.bucket() + "/" + source.prefix();
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
                    throw new ModelFailure.SourceException("object key '" + object.key() + "' escapes the model folder");
                }
                Files.createDirectories(target.getParent());
                try (InputStream in = client.getObject(b -> b.bucket(source.bucket()).key(object.key()))) {
                    Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
                }
                count++;
            }
            if (count == 0) {
                throw new ModelFailure.SourceException("no objects under " + uri);
            }
            return dir;
        } catch (SdkException e) {
            throw new ModelFailure.SourceException(uri + ": " + S3ModelSources.summary(e));
        }
    }
}
