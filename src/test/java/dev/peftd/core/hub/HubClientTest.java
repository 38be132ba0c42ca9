package dev.peftd.core.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peftd.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads against {@link LocalHubServer}, which serves the Hub's URL layout; no test touches the real Hub. */
class HubClientTest {

    private static final String SHA = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path cache;
    private LocalHubServer hub;
    private byte[] weights;
    private byte[] tokenizerJson;

    @BeforeEach
    void startHub() throws IOException, URISyntaxException {
        hub = new LocalHubServer();
        weights = new byte[1 << 20];
        new SplittableRandom(7).nextBytes(weights);
        Path fixture = Path.of(getClass().getResource("/fixtures/tokenizers/bytefallback-llama2").toURI());
        tokenizerJson = Files.readAllBytes(fixture.resolve("tokenizer.json"));
        Map<String, byte[]> files = LocalHubServer.files(
                "config.json", "{\"architectures\": [\"LlamaForCausalLM\"]}".getBytes(),
                "tokenizer.json", tokenizerJson,
                "tokenizer_config.json", Files.readAllBytes(fixture.resolve("tokenizer_config.json")),
                "model.safetensors", weights,
                "README.md", "# not needed".getBytes(),
                "onnx/model.onnx", new byte[] {1, 2, 3});
        hub.addRepo("peftd-test/tiny", new LocalHubServer.Repo(SHA, files, false));
        hub.addRepo("peftd-test/private", new LocalHubServer.Repo(SHA.replace('0', 'f'), files, true));
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    private HubClient client(String token) {
        return new HubClient(new HubSettings(hub.endpoint(), Optional.ofNullable(token), cache));
    }

    @Test
    void downloadsTheModelFilesIntoACacheByRepoAndCommit() throws IOException {
        Path dir = client("hf_other").snapshot(HubModelId.parse("hf://peftd-test/tiny"));

        assertThat(dir).isEqualTo(cache.resolve("peftd-test--tiny/snapshots/" + SHA));
        assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(Files.readAllBytes(dir.resolve("tokenizer.json"))).isEqualTo(tokenizerJson);
        assertThat(dir.resolve("README.md")).doesNotExist();
        assertThat(dir.resolve("onnx")).doesNotExist();
        assertThat(Files.readString(cache.resolve("peftd-test--tiny/refs/main"))).isEqualTo(SHA);
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertThat(tokenizer.encode("Hello")).isNotEmpty();
        }
        // The weights were redirected to another host: the token must not follow them there.
        assertThat(hub.cdnAuthorizationHeaders).containsExactly("null");
    }

    @Test
    void aCachedSnapshotIsNotDownloadedAgainAndACommitPinNeedsNoNetwork() {
        HubClient client = client(null);
        client.snapshot(HubModelId.parse("hf://peftd-test/tiny"));
        int afterFirst = hub.requests.size();

        client.snapshot(HubModelId.parse("hf://peftd-test/tiny@main"));
        assertThat(hub.requests.subList(afterFirst, hub.requests.size()))
                .as("a branch is resolved again, but no file is fetched again")
                .allMatch(r -> r.startsWith("/api/models/"));

        int beforePinned = hub.requests.size();
        Path pinned = client.snapshot(HubModelId.parse("hf://peftd-test/tiny@" + SHA));
        assertThat(hub.requests).hasSize(beforePinned);
        assertThat(pinned.resolve("model.safetensors")).exists();
    }

    @Test
    void anInterruptedDownloadResumesWithARangeRequest() throws IOException {
        hub.dropHalfWay(LocalHubServer.sha256(weights), 1);

        Path dir = client(null).snapshot(HubModelId.parse("hf://peftd-test/tiny"));

        assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(weights);
        // The resumed request starts where the received bytes end (at most half the file reached the disk).
        assertThat(hub.requests).anyMatch(r -> r.matches("/cdn/" + LocalHubServer.sha256(weights) + " bytes=[1-9]\\d*-")
                && Long.parseLong(r.replaceAll(".*bytes=(\\d+)-", "$1")) <= weights.length / 2);
    }

    @Test
    void aDownloadThatKeepsFailingLeavesAPartFileThatTheNextRunResumes() throws IOException {
        String blob = LocalHubServer.sha256(weights);
        hub.dropHalfWay(blob, 100);
        HubClient client = client(null);

        assertThatThrownBy(() -> client.snapshot(HubModelId.parse("hf://peftd-test/tiny")))
                .isInstanceOf(HubException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining("run again to resume");
        Path part = cache.resolve("peftd-test--tiny/partial/" + SHA + "/model.safetensors.part");
        long partial = Files.size(part);
        assertThat(partial).isGreaterThan(weights.length / 2L).isLessThan(weights.length);

        hub.dropHalfWay(blob, 0);
        Path dir = client.snapshot(HubModelId.parse("hf://peftd-test/tiny"));
        assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(weights);
        assertThat(hub.requests).contains("/cdn/" + blob + " bytes=" + partial + "-");
        assertThat(part).doesNotExist();
    }

    @Test
    void aPrivateRepoWithoutTokenIsA401NamingHfToken() {
        assertThatThrownBy(() -> client(null).snapshot(HubModelId.parse("hf://peftd-test/private")))
                .isInstanceOf(HubException.class)
                .hasMessageContaining("401").hasMessageContaining("peftd-test/private").hasMessageContaining("set HF_TOKEN");
        assertThatThrownBy(() -> client("hf_wrong").snapshot(HubModelId.parse("hf://peftd-test/private")))
                .hasMessageContaining("HF_TOKEN was rejected");

        Path dir = client(LocalHubServer.TOKEN).snapshot(HubModelId.parse("hf://peftd-test/private"));
        assertThat(dir.resolve("model.safetensors")).exists();
    }

    @Test
    void aMissingRepoOrRevisionIsNamed() {
        assertThatThrownBy(() -> client(null).snapshot(HubModelId.parse("hf://peftd-test/nope")))
                .isInstanceOf(HubException.class)
                .hasMessageContaining("repository peftd-test/nope not found at " + hub.endpoint());
        assertThatThrownBy(() -> client(null).snapshot(HubModelId.parse("hf://peftd-test/tiny@v9")))
                .hasMessageContaining("revision 'v9' not found in peftd-test/tiny");
    }

    @Test
    void aCorruptTransferIsDetectedAndNotCached() {
        hub.corrupt("config.json");
        assertThatThrownBy(() -> client(null).snapshot(HubModelId.parse("hf://peftd-test/tiny")))
                .isInstanceOf(HubException.class)
                .hasMessageContaining("config.json").hasMessageContaining("does not match the ETag");
        assertThat(cache.resolve("peftd-test--tiny/snapshots/" + SHA + "/config.json")).doesNotExist();
    }

    @Test
    void anUnreachableHubFallsBackToTheCachedRevision() {
        client(null).snapshot(HubModelId.parse("hf://peftd-test/tiny"));
        hub.close();
        HubClient offline = client(null);

        assertThat(offline.snapshot(HubModelId.parse("hf://peftd-test/tiny")).resolve("config.json")).exists();
        assertThatThrownBy(() -> offline.snapshot(HubModelId.parse("hf://peftd-test/other")))
                .isInstanceOf(HubException.class).hasMessageContaining("cannot reach").hasMessageContaining("no cached copy");
    }

    @Test
    void settingsComeFromHfEndpointAndHfToken() {
        HubSettings settings = HubSettings.fromEnvironment(Map.of(
                "HF_ENDPOINT", "https://hub.example.org/", "HF_TOKEN", "hf_abc", "PEFTD_HUB_CACHE", "/tmp/x"));
        assertThat(settings.endpoint()).isEqualTo(URI.create("https://hub.example.org"));
        assertThat(settings.token()).contains("hf_abc");
        assertThat(settings.cacheDirectory()).isEqualTo(Path.of("/tmp/x"));
        assertThat(HubSettings.fromEnvironment(Map.of()).endpoint()).isEqualTo(URI.create("https://huggingface.co"));
    }

    @Test
    void modelIdsParseWithAndWithoutRevision() {
        assertThat(HubModelId.parse("hf://org/name")).isEqualTo(new HubModelId("org/name", "main"));
        assertThat(HubModelId.parse("hf://org/name@" + SHA).isPinnedToCommit()).isTrue();
        assertThatThrownBy(() -> HubModelId.parse("hf://../etc@main")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not of the form org/name");
    }
}
