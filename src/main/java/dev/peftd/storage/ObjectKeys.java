package dev.peftd.storage;

import java.util.regex.Pattern;

/**
 * The only place object keys are built. Layout:
 * <pre>
 * files/{tenant}/{file id}.jsonl                         uploaded datasets
 * files/{tenant}/{file id}.csv                           a job's results (metrics per step)
 * jobs/{tenant}/{job id}/checkpoints/step-{n}/…          resumable training state
 * jobs/{tenant}/{job id}/checkpoints/step-{n}/adapter/…  that step's PEFT directory (the checkpoint as a model)
 * jobs/{tenant}/{job id}/adapter/…                       the exported PEFT directory (+ peftd.json)
 * adapters/{tenant}/{adapter id}/…                       an uploaded PEFT directory (serving)
 * merged/{tenant}/{adapter id}/…                         an adapter merged into its base (HF checkpoint)
 * </pre>
 * Every segment is checked against a safe pattern, so no key can climb out of its prefix.
 */
public final class ObjectKeys {

    /** The folder of a checkpoint that holds its PEFT export, next to the training state. */
    public static final String CHECKPOINT_ADAPTER = "adapter";

    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    private ObjectKeys() {
    }

    public static String file(String tenant, String fileId) {
        return "files/" + safe(tenant) + "/" + safe(fileId) + ".jsonl";
    }

    public static String resultFile(String tenant, String fileId) {
        return "files/" + safe(tenant) + "/" + safe(fileId) + ".csv";
    }

    public static String checkpoint(String tenant, String jobId, int step) {
        return job(tenant, jobId) + "checkpoints/" + String.format("step-%08d/", step);
    }

    /** The PEFT directory exported with checkpoint {@code step}: what serves and downloads as that checkpoint. */
    public static String checkpointAdapter(String tenant, String jobId, int step) {
        return checkpoint(tenant, jobId, step) + CHECKPOINT_ADAPTER + "/";
    }

    public static String checkpoints(String tenant, String jobId) {
        return job(tenant, jobId) + "checkpoints/";
    }

    public static String adapter(String tenant, String jobId) {
        return job(tenant, jobId) + "adapter/";
    }

    public static String servedAdapter(String tenant, String adapterId) {
        return "adapters/" + safe(tenant) + "/" + safe(adapterId) + "/";
    }

    public static String mergedModel(String tenant, String adapterId) {
        return "merged/" + safe(tenant) + "/" + safe(adapterId) + "/";
    }

    public static String job(String tenant, String jobId) {
        return "jobs/" + safe(tenant) + "/" + safe(jobId) + "/";
    }

    static String probe() {
        return "health/probe";
    }

    private static String safe(String segment) {
        if (segment == null || !SEGMENT.matcher(segment).matches() || segment.contains("..")) {
            throw new IllegalArgumentException("unsafe object key segment '" + segment + "'");
        }
        return segment;
    }
}
