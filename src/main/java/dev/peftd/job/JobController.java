package dev.peftd.job;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.peftd.api.ApiProblem;
import dev.peftd.api.ListPage;
import dev.peftd.security.Tenant;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpHeaders;
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
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;
import tools.jackson.databind.JsonNode;

/** OpenAI's {@code /v1/fine_tuning/jobs} API, plus the adapter download. */
@RestController
class JobController {

    private final JobService service;
    private final JobEvents events;
    private final JobCheckpoints checkpoints;
    private final EventStreams streams;
    private final AdapterArchive adapters;
    private final FineTunedModelCatalog models;

    JobController(JobService service, JobEvents events, JobCheckpoints checkpoints, EventStreams streams,
            AdapterArchive adapters, FineTunedModelCatalog models) {
        this.models = models;
        this.service = service;
        this.events = events;
        this.checkpoints = checkpoints;
        this.streams = streams;
        this.adapters = adapters;
    }

    /** The create body exactly as OpenAI names it. */
    record CreateBody(String model, @JsonProperty("training_file") String trainingFile,
                      @JsonProperty("validation_file") String validationFile, String suffix, Long seed,
                      JsonNode hyperparameters, JsonNode method, Map<String, String> metadata,
                      JsonNode integrations) {
    }

    private JobViews.Job view(JobRecord job) {
        return views(job.tenant(), List.of(job)).get(0);
    }

    /** Jobs as the API shows them, their results files read in one query. */
    private List<JobViews.Job> views(String tenant, List<JobRecord> jobs) {
        Map<String, List<String>> results = service.resultFiles(tenant, jobs);
        return jobs.stream().map(j -> JobViews.Job.of(j, results.getOrDefault(j.id(), List.of()))).toList();
    }

    @PostMapping("/v1/fine_tuning/jobs")
    JobViews.Job create(@AuthenticationPrincipal Tenant tenant, @RequestBody CreateBody body,
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey) {
        var request = new JobService.CreateRequest(body.model(), body.trainingFile(), body.validationFile(), body.suffix(),
                body.seed(), body.hyperparameters(), body.method(), body.metadata(), body.integrations());
        return view(service.create(tenant, request, idempotencyKey));
    }

    @GetMapping("/v1/fine_tuning/jobs")
    ListPage<JobViews.Job> list(@AuthenticationPrincipal Tenant tenant, @RequestParam(required = false) String after,
            @RequestParam(required = false) Integer limit) {
        ListPage<JobRecord> page = service.list(tenant, after, ListPage.limit(limit));
        return ListPage.of(views(tenant.name(), page.data()), page.hasMore());
    }

    @GetMapping("/v1/fine_tuning/jobs/{id}")
    JobViews.Job get(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return view(service.get(tenant, id));
    }

    @PostMapping("/v1/fine_tuning/jobs/{id}/cancel")
    JobViews.Job cancel(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return view(service.cancel(tenant, id));
    }

    @PostMapping("/v1/fine_tuning/jobs/{id}/pause")
    JobViews.Job pause(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return view(service.pause(tenant, id));
    }

    @PostMapping("/v1/fine_tuning/jobs/{id}/resume")
    JobViews.Job resume(@AuthenticationPrincipal Tenant tenant, @PathVariable String id) {
        return view(service.resume(tenant, id));
    }

    @GetMapping(path = "/v1/fine_tuning/jobs/{id}/events", params = "!stream")
    ListPage<JobViews.Event> events(@AuthenticationPrincipal Tenant tenant, @PathVariable String id,
            @RequestParam(required = false) String after, @RequestParam(required = false) Integer limit) {
        service.get(tenant, id);
        int pageSize = ListPage.limit(limit);
        return ListPage.fromOverfetch(events.newestFirst(id, eventCursor(after), pageSize + 1), pageSize,
                JobViews.Event::of);
    }

    /** {@code ?stream=true}: server-sent events, oldest first, ending with {@code data: [DONE]} once the job finished. */
    @GetMapping(path = "/v1/fine_tuning/jobs/{id}/events", params = "stream")
    Object streamEvents(@AuthenticationPrincipal Tenant tenant, @PathVariable String id, @RequestParam boolean stream,
            @RequestParam(required = false) String after, @RequestParam(required = false) Integer limit) {
        if (!stream) {
            return events(tenant, id, after, limit);
        }
        service.get(tenant, id);
        Long cursor = eventCursor(after);
        SseEmitter emitter = new SseEmitter(0L);
        streams.follow(tenant, id, cursor == null ? 0 : cursor, emitter);
        return emitter;
    }

    @GetMapping("/v1/fine_tuning/jobs/{id}/checkpoints")
    ListPage<JobViews.Checkpoint> checkpoints(@AuthenticationPrincipal Tenant tenant, @PathVariable String id,
            @RequestParam(required = false) String after, @RequestParam(required = false) Integer limit) {
        JobRecord job = service.get(tenant, id);
        int pageSize = ListPage.limit(limit);
        Integer beforeStep = null;
        if (after != null) {
            beforeStep = checkpoints.find(after).filter(c -> c.jobId().equals(id))
                    .orElseThrow(() -> ApiProblem.invalidField("after", "no checkpoint '" + after + "' in this job"))
                    .stepNumber();
        }
        return ListPage.fromOverfetch(checkpoints.list(id, beforeStep, pageSize + 1), pageSize,
                c -> JobViews.Checkpoint.of(job, c));
    }

    /**
     * The exported PEFT directory ({@code adapter_config.json}, {@code adapter_model.safetensors}, and for the final
     * adapter {@code peftd.json}); {@code ?step=N} downloads the checkpoint at step N instead.
     */
    @GetMapping(path = "/v1/fine_tuning/jobs/{id}/adapter", produces = "application/zip")
    ResponseEntity<StreamingResponseBody> adapter(@AuthenticationPrincipal Tenant tenant, @PathVariable String id,
            @RequestParam(required = false) Integer step) {
        JobRecord job = service.get(tenant, id);
        String prefix = models.downloadable(tenant.name(), job, step);
        String filename = id + (step == null ? "" : "-step-" + step) + "-adapter.zip";
        return ResponseEntity.ok()
                .header(HttpHeaders.CONTENT_DISPOSITION, "attachment; filename=\"" + filename + "\"")
                .contentType(MediaType.parseMediaType("application/zip"))
                .body(out -> adapters.write(prefix, out));
    }

    private static Long eventCursor(String after) {
        if (after == null) {
            return null;
        }
        if (!after.matches("ftevent-[0-9]{1,18}")) {
            throw ApiProblem.invalidField("after", "not an event id (ftevent-<n>): '" + after + "'");
        }
        return Long.parseLong(after.substring("ftevent-".length()));
    }
}
