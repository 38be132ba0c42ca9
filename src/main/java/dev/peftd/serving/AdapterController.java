package dev.peftd.serving;

import dev.peftd.api.ListPage;
import dev.peftd.security.Tenant;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.springframework.core.io.InputStreamResource;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

/**
 * Adapters made elsewhere (PEFT LoRA or VeRA directories, zipped), registered for serving on a tenant's base model:
 * upload, list, retrieve, delete, and merge into a new base model whose checkpoint files can be downloaded.
 */
@RestController
class AdapterController {

    private final AdapterService adapters;

    AdapterController(AdapterService adapters) {
        this.adapters = adapters;
    }

    /** Multipart: {@code base_model}, {@code file} (zip of the PEFT directory), optional {@code name}. */
    @PostMapping(path = "/v1/adapters", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    ResponseEntity<ServedAdapter.View> upload(@AuthenticationPrincipal Tenant tenant,
            @RequestParam(name = "base_model", required = false) String baseModel,
            @RequestParam(name = "name", required = false) String name,
            @RequestParam(name = "file", required = false) MultipartFile file) throws IOException {
        if (file == null || file.isEmpty()) {
            throw dev.peftd.api.ApiProblem.invalidField("file", "is required: a zip of the PEFT adapter directory");
        }
        try (InputStream in = file.getInputStream()) {
            return ResponseEntity.status(HttpStatus.CREATED)
                    .body(adapters.upload(tenant.name(), baseModel, name, in).view());
        }
    }

    @GetMapping("/v1/adapters")
    ListPage<ServedAdapter.View> list(@AuthenticationPrincipal Tenant tenant) {
        return ListPage.of(adapters.list(tenant.name()).stream().map(ServedAdapter::view).toList(), false);
    }

    @GetMapping("/v1/adapters/{id}")
    ServedAdapter.View get(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return adapters.get(tenant.name(), id).view();
    }

    @DeleteMapping("/v1/adapters/{id}")
    Map<String, Object> delete(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) throws IOException {
        String canonical = adapters.get(tenant.name(), id).id();
        adapters.delete(tenant.name(), id);
        return Map.of("id", canonical, "object", "adapter", "deleted", true);
    }

    /** Optional body {@code {"model_id": …}} names the new base model (default {@code <adapter id>-merged}). */
    record MergeRequest(@com.fasterxml.jackson.annotation.JsonProperty("model_id") String modelId) {
    }

    record MergeView(ServedAdapter.View adapter, @com.fasterxml.jackson.annotation.JsonProperty("merged_model") String model,
                     List<String> files) {
    }

    /** {@code id} may also be a fine-tuned model ({@code ft:…}); then {@code adapter} is null in the answer. */
    @PostMapping("/v1/adapters/{id}/merge")
    MergeView merge(@AuthenticationPrincipal Tenant tenant, @PathVariable String id,
            @RequestBody(required = false) MergeRequest body) throws IOException {
        String modelId = body == null ? null : body.modelId();
        if (id.startsWith("ft:")) {
            AdapterService.Merged merged = adapters.mergeFineTuned(tenant.name(), id, modelId);
            return new MergeView(null, merged.model(), adapters.mergedFilesOf(tenant.name(), merged.storeName()));
        }
        ServedAdapter merged = adapters.merge(tenant.name(), id, modelId);
        return new MergeView(merged.view(), merged.mergedModel(), adapters.mergedFilesOf(tenant.name(), merged.id()));
    }

    /** Downloads one file of the merged checkpoint (config.json, model.safetensors, tokenizer files…). */
    @GetMapping("/v1/adapters/{id}/merged/{file}")
    ResponseEntity<InputStreamResource> mergedFile(@AuthenticationPrincipal Tenant tenant, @PathVariable String id,
            @PathVariable String file) throws IOException {
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_OCTET_STREAM)
                .header("Content-Disposition", "attachment; filename=\"" + file + "\"")
                .body(new InputStreamResource(adapters.mergedFile(tenant.name(), id, file)));
    }
}
