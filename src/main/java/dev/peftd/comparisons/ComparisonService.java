package dev.peftd.comparisons;

import dev.peftd.api.IdempotencyKeys;
import dev.peftd.api.Ids;
import dev.peftd.api.ListPage;
import dev.peftd.comparison.ComparisonReport;
import dev.peftd.comparison.MethodRun;
import dev.peftd.comparison.MethodSummary;
import dev.peftd.comparison.ReportFiles;
import dev.peftd.core.adapter.InvalidSettingException;
import dev.peftd.core.adapter.Method;
import dev.peftd.job.JobRecord;
import dev.peftd.job.JobService;
import dev.peftd.kernel.Refusal;
import dev.peftd.queue.JobState;
import dev.peftd.security.Tenant;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.stereotype.Service;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Creating, reading and cancelling comparisons. A comparison's runs are fine-tuning jobs created through the job
 * feature ({@link JobService#createGroup}): the same checks, the same queue, the tenant's job limit; every child of
 * one seed gets that seed, so all methods draw the same batches in the same order. Its status and table are read
 * from the children each time.
 */
@Service
class ComparisonService {

    private final Comparisons comparisons;
    private final JobService jobs;
    private final ChildResults results;
    private final DataSplit split;
    private final IdempotencyKeys idempotency;
    private final JsonMapper json;
    private final Clock clock;
    private final SecureRandom seeds = new SecureRandom();

    ComparisonService(Comparisons comparisons, JobService jobs, ChildResults results, DataSplit split,
            IdempotencyKeys idempotency, JsonMapper json, Clock clock) {
        this.comparisons = comparisons;
        this.jobs = jobs;
        this.results = results;
        this.split = split;
        this.idempotency = idempotency;
        this.json = json;
        this.clock = clock;
    }

    /** The create body, as the API names it. */
    record CreateRequest(String model, String trainingFile, String validationFile, Double validationFraction,
                         List<String> methods, Integer steps, Integer epochs, Integer batchSize, Integer maxSeqLength,
                         JsonNode overrides, Integer seeds, Long seed) {
    }

    /** A comparison with its children, as one read sees them. */
    record Read(ComparisonRecord comparison, List<JobRecord> children) {

        /** Running until every child has ended; then failed if one failed, cancelled if one was, else succeeded. */
        String status() {
            if (children.stream().allMatch(c -> c.status() == JobState.QUEUED)) {
                return JobState.QUEUED.wire();
            }
            if (children.stream().anyMatch(c -> c.status().active())) {
                return JobState.RUNNING.wire();
            }
            for (JobState outcome : List.of(JobState.FAILED, JobState.CANCELLED)) {
                if (children.stream().anyMatch(c -> c.status() == outcome)) {
                    return outcome.wire();
                }
            }
            return JobState.SUCCEEDED.wire();
        }

        boolean finished() {
            return children.stream().allMatch(c -> c.status().terminal());
        }

        Instant finishedAt() {
            return finished() ? children.stream().map(JobRecord::finishedAt).filter(Objects::nonNull)
                    .max(Instant::compareTo).orElse(null) : null;
        }
    }

    Read create(Tenant tenant, CreateRequest request, String idempotencyKey) {
        long seed = request.seed() != null ? request.seed() : seeds.nextInt(Integer.MAX_VALUE);
        ComparisonPlan plan = ComparisonPlan.of(new ComparisonPlan.Given(request.methods(), request.steps(),
                request.epochs(), request.batchSize(), request.maxSeqLength(), request.overrides(), request.seeds(),
                seed));
        DataSplit.Given data = DataSplit.given(request.trainingFile(), request.validationFile(),
                request.validationFraction());
        for (Method method : plan.methods()) {   // every method's settings, before the transaction
            try {
                jobs.checkMethod(plan.childMethod(method, json));
            } catch (InvalidSettingException e) {
                throw plan.readdress(method, e);
            }
        }
        String planJson = json.writeValueAsString(planView(plan));
        Map<String, Object> asGiven = planView(plan);
        asGiven.put("seed", request.seed());   // a replay without a seed is the same request, whatever seed was drawn
        String hash = IdempotencyKeys.hash(request.model(), request.trainingFile(), request.validationFile(),
                String.valueOf(request.validationFraction()), json.writeValueAsString(asGiven));
        String id = idempotency.create(tenant.name(), "comparison.create", idempotencyKey, hash, () -> {
            String created = Ids.next("ftcmp");
            DataSplit.Files files = split.files(tenant, data);
            comparisons.insert(new ComparisonRecord(created, tenant.name(), request.model(), request.trainingFile(),
                    files.validationFile(), request.validationFraction(), planJson, clock.instant()));
            List<JobService.CreateRequest> children = new ArrayList<>();
            for (ComparisonPlan.Run run : plan.runs()) {
                children.add(new JobService.CreateRequest(request.model(), files.trainingFile(),
                        files.validationFile(), run.method().id(), run.seed(), null,
                        plan.childMethod(run.method(), json), Map.of("comparison_id", created), null));
            }
            try {
                jobs.createGroup(tenant, created, children);
            } catch (InvalidSettingException e) {   // e.g. target_modules checked on the model's own module names
                throw readdress(plan, e);
            }
            return created;
        }, created -> created);
        return get(tenant, id);
    }

    private static InvalidSettingException readdress(ComparisonPlan plan, InvalidSettingException e) {
        return plan.methods().stream().filter(m -> e.field().startsWith("method." + m.id() + "."))
                .findFirst().map(m -> plan.readdress(m, e)).orElse(e);
    }

    private static Map<String, Object> planView(ComparisonPlan plan) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("methods", plan.methods().stream().map(Method::id).toList());
        view.put("budget", plan.budgetByApiName());
        view.put("overrides", plan.overrides());
        view.put("seeds", plan.seeds());
        view.put("seed", plan.seed());
        return view;
    }

    Read get(Tenant tenant, String id) {
        ComparisonRecord comparison = comparisons.find(tenant.name(), id)
                .orElseThrow(() -> Refusal.notFound("comparison", id));
        return new Read(comparison, jobs.group(tenant, id));
    }

    ListPage<Read> list(Tenant tenant, String after, int limit) {
        if (after != null && comparisons.find(tenant.name(), after).isEmpty()) {
            throw Refusal.invalidField("after", "no comparison with id '" + after + "'");
        }
        ListPage<ComparisonRecord> page = ListPage.fromOverfetch(comparisons.page(tenant.name(), after, limit + 1),
                limit, c -> c);
        Map<String, List<JobRecord>> children =   // one query for the whole page, not one per comparison
                jobs.groups(tenant, page.data().stream().map(ComparisonRecord::id).toList());
        return ListPage.of(page.data().stream().map(c -> new Read(c, children.get(c.id()))).toList(), page.hasMore());
    }

    /** Cancels every child that has not ended; a comparison whose children have all ended is a conflict. */
    Read cancel(Tenant tenant, String id) {
        Read read = get(tenant, id);
        if (read.finished()) {
            throw new Refusal(Refusal.Kind.CONFLICT, "comparison '" + id + "' is " + read.status()
                    + " and can no longer be cancelled");
        }
        for (JobRecord child : read.children()) {
            if (child.status() == JobState.QUEUED || child.status() == JobState.RUNNING) {
                try {
                    jobs.cancel(tenant, child.id());
                } catch (Refusal raced) {   // it ended between the read and the cancel: nothing left to stop
                    if (raced.kind() != Refusal.Kind.CONFLICT) {
                        throw raced;
                    }
                }
            }
        }
        return get(tenant, id);
    }

    /** The table: one row per method with a succeeded run, methods in the order they were listed. */
    List<MethodSummary> table(Read read) {
        List<MethodRun> runs = runs(read);
        return runs.isEmpty() ? List.of() : report(read, runs).summaries();
    }

    /** The self-contained HTML report, once every child has ended and at least one succeeded. */
    String reportHtml(Tenant tenant, String id) {
        Read read = get(tenant, id);
        if (!read.finished()) {
            throw new Refusal(Refusal.Kind.CONFLICT, "comparison '" + id + "' is " + read.status()
                    + "; its report is ready once every run has ended");
        }
        List<MethodRun> runs = runs(read);
        if (runs.isEmpty()) {
            throw new Refusal(Refusal.Kind.CONFLICT, "comparison '" + id + "' is " + read.status()
                    + " and none of its runs succeeded, so there is nothing to report");
        }
        return ReportFiles.html(report(read, runs));
    }

    private List<MethodRun> runs(Read read) {
        return read.children().stream().filter(c -> c.status() == JobState.SUCCEEDED).map(results::of).toList();
    }

    private ComparisonReport report(Read read, List<MethodRun> runs) {
        ComparisonRecord c = read.comparison();
        Map<String, Object> budget = new LinkedHashMap<>();
        JsonNode plan = json.readTree(c.planJson());
        plan.path("budget").properties().forEach(e -> budget.put(e.getKey(), e.getValue().numberValue()));
        budget.put("seeds", plan.path("seeds").asInt());
        String evalFile = c.validationFraction() == null ? c.validationFile()
                : c.validationFile() + " (the last " + c.validationFraction() + " of " + c.trainingFile() + ")";
        return new ComparisonReport(c.model(), c.trainingFile(), evalFile, budget, runs);
    }
}
