package dev.peftd.comparisons;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.peftd.api.ListPage;
import dev.peftd.security.Tenant;
import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/** {@code /v1/fine_tuning/comparisons}: several methods trained on the same data, budget and seeds, side by side. */
@RestController
class ComparisonController {

    private final ComparisonService service;

    ComparisonController(ComparisonService service) {
        this.service = service;
    }

    record CreateBody(String model, @JsonProperty("training_file") String trainingFile,
                      @JsonProperty("validation_file") String validationFile,
                      @JsonProperty("validation_fraction") Double validationFraction, List<String> methods,
                      Integer steps, Integer epochs, @JsonProperty("batch_size") Integer batchSize,
                      @JsonProperty("max_seq_length") Integer maxSeqLength, JsonNode overrides, Integer seeds,
                      Long seed) {
    }

    @PostMapping("/v1/fine_tuning/comparisons")
    ComparisonViews.Comparison create(@AuthenticationPrincipal Tenant tenant, @RequestBody CreateBody body,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        var request = new ComparisonService.CreateRequest(body.model(), body.trainingFile(), body.validationFile(),
                body.validationFraction(), body.methods(), body.steps(), body.epochs(), body.batchSize(),
                body.maxSeqLength(), body.overrides(), body.seeds(), body.seed());
        return view(service.create(tenant, request, idempotencyKey));
    }

    @GetMapping("/v1/fine_tuning/comparisons")
    ListPage<ComparisonViews.Comparison> list(@AuthenticationPrincipal Tenant tenant,
            @RequestParam(required = false) String after, @RequestParam(required = false) Integer limit) {
        ListPage<ComparisonService.Read> page = service.list(tenant, after, ListPage.limit(limit));
        return ListPage.of(page.data().stream().map(this::view).toList(), page.hasMore());
    }

    @GetMapping("/v1/fine_tuning/comparisons/{id}")
    ComparisonViews.Comparison get(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return view(service.get(tenant, id));
    }

    @PostMapping("/v1/fine_tuning/comparisons/{id}/cancel")
    ComparisonViews.Comparison cancel(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return view(service.cancel(tenant, id));
    }

    /** The self-contained HTML report (pictures inlined); 409 until every run has ended. */
    @GetMapping("/v1/fine_tuning/comparisons/{id}/report")
    ResponseEntity<String> report(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return ResponseEntity.ok().contentType(new MediaType(MediaType.TEXT_HTML, java.nio.charset.StandardCharsets.UTF_8))
                .body(service.reportHtml(tenant, id));
    }

    private ComparisonViews.Comparison view(ComparisonService.Read read) {
        var c = read.comparison();
        var table = service.table(read);
        return new ComparisonViews.Comparison(c.id(), "fine_tuning.comparison", c.createdAt().getEpochSecond(),
                read.finishedAt() == null ? null : read.finishedAt().getEpochSecond(), read.status(), c.model(),
                c.trainingFile(), c.validationFile(), c.validationFraction(), c.planJson(),
                read.children().stream().map(ComparisonViews.Child::of).toList(),
                table.stream().map(ComparisonViews.Row::of).toList(),
                read.finished() && !table.isEmpty() ? ComparisonViews.Advice.of(table) : null);
    }
}
