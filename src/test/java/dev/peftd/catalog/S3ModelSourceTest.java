package dev.peftd.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.model.ModelDtype;
import dev.peftd.core.model.TestModels;
import dev.peftd.kernel.DataDirectory;
import dev.peftd.storage.S3ProxyServer;
import dev.peftd.storage.S3Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import tools.jackson.databind.json.JsonMapper;

/** {@code s3://bucket/prefix} model sources: downloaded from a real S3 server, then loaded by the runtime. */
class S3ModelSourceTest {

    @TempDir
    Path data;

    @Test
    void downloadsAndLoadsAModelFromS3() throws Exception {
        try (S3ProxyServer s3 = new S3ProxyServer()) {
            S3Settings settings = s3.settings("", "when_required");
            try (S3Client client = settings.client()) {
                client.createBucket(b -> b.bucket("models"));
                Path model = TestModels.tinyLlama();
                try (Stream<Path> files = Files.list(model)) {
                    for (Path file : files.toList()) {
                        client.putObject(b -> b.bucket("models").key("llama/tiny/" + file.getFileName()),
                                RequestBody.fromFile(file));
                    }
                }
            }
            ModelPreparation preparation = new ModelPreparation(new DataDirectory(data), settings,
                    JsonMapper.builder().build(), null, new LocalModelFolders(data, List.of(), false));
            ModelPreparation.Prepared prepared = preparation.prepare("alpha", "tiny",
                    ModelSource.parse("s3://models/llama/tiny"), ModelDtype.FLOAT32);
            assertThat(prepared.architecture()).isEqualTo("LlamaForCausalLM");
            assertThat(prepared.dir()).startsWith(data.resolve("models/alpha/tiny"));
            assertThat(prepared.dir().resolve("tokenizer.json")).exists();

            assertThatThrownBy(() -> preparation.prepare("alpha", "empty", ModelSource.parse("s3://models/none"),
                    ModelDtype.FLOAT32))
                    .hasMessageContaining("no objects under s3://models/none/");
            // the store's error code, not the SDK's page of text
            assertThatThrownBy(() -> preparation.prepare("alpha", "nobucket",
                    ModelSource.parse("s3://no-such-bucket/x"), ModelDtype.FLOAT32))
                    .isInstanceOfSatisfying(ModelPreparation.Failed.class, e -> {
                        assertThat(e.failure.code()).isEqualTo("model_source_unavailable");
                        assertThat(e.failure.message()).isEqualTo("s3://no-such-bucket/x/: NoSuchBucket (HTTP 404)");
                    });
        }
    }
}
