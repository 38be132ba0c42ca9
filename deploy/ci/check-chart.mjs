// Asserts what the peftd chart must render, beyond schema validity (k8s-validate.mjs does that):
// secrets only by reference, probes on Actuator, worker devices and GPU scheduling, monitoring objects wired to the
// Services, and the dashboard/alert files shipped unchanged.
// Usage: node check-chart.mjs CHART_DIR DEFAULT_RENDER GPU_RENDER
import { readFileSync } from "node:fs";
import { parseAllDocuments, parse } from "yaml";

const [chart, defaultRender, gpuRender] = process.argv.slice(2);
let passed = 0, failed = 0;
function check(name, condition, detail = "") {
  if (condition) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.error(`FAIL ${name}${detail ? ": " + detail : ""}`); }
}
const load = (file) => parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
const find = (objs, kind, suffix) => objs.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
const container = (deployment) => deployment?.spec.template.spec.containers[0];
const env = (c, name) => c?.env?.find((e) => e.name === name);
// JSON with sorted keys, so that documents compare by content (Helm's toYaml sorts keys)
const canonical = (v) => JSON.stringify(v, (k, x) => (x && typeof x === "object" && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
const SECRET_NAMES = /PASSWORD|SECRET|API_KEYS|ACCESS_KEY/;

function common(label, objs) {
  check(`${label}: no Secret object rendered`, !objs.some((o) => o.kind === "Secret"));
  for (const suffix of ["-api", "-worker"]) {
    const d = find(objs, "Deployment", suffix), c = container(d);
    check(`${label}: ${suffix} Deployment rendered`, !!d);
    if (!d) continue;
    const literal = c.env.filter((e) => SECRET_NAMES.test(e.name) && !e.valueFrom?.secretKeyRef);
    check(`${label}: ${suffix} secret env only from secretKeyRef`, literal.length === 0, JSON.stringify(literal));
    const cm = find(objs, "ConfigMap", "-config");
    const cmSecrets = Object.keys(cm?.data ?? {}).filter((k) => SECRET_NAMES.test(k));
    check(`${label}: ConfigMap holds no secret keys`, cmSecrets.length === 0, cmSecrets.join(","));
    check(`${label}: ${suffix} probes on Actuator`,
      c.startupProbe?.httpGet.path === "/actuator/health/liveness"
      && c.livenessProbe?.httpGet.path === "/actuator/health/liveness"
      && c.readinessProbe?.httpGet.path === "/actuator/health/readiness");
    const sc = c.securityContext ?? {};
    check(`${label}: ${suffix} runs non-root on a read-only root filesystem`,
      d.spec.template.spec.securityContext.runAsNonRoot === true && sc.readOnlyRootFilesystem === true
      && sc.allowPrivilegeEscalation === false);
    const mounts = new Set(c.volumeMounts.map((m) => m.mountPath));
    check(`${label}: ${suffix} writable data, cache and tmp mounts`,
      ["/var/lib/peftd", "/var/cache/peftd", "/tmp"].every((p) => mounts.has(p)));
    check(`${label}: ${suffix} envFrom the ConfigMap`, c.envFrom?.[0]?.configMapRef?.name === cm?.metadata.name);
  }
  const api = container(find(objs, "Deployment", "-api"));
  check(`${label}: API pods run no training workers`, env(api, "PEFTD_WORKER_COUNT")?.value === "0");
  const config = find(objs, "ConfigMap", "-config")?.data ?? {};
  check(`${label}: ConfigMap sets the serving limits`,
    ["PEFTD_SERVING_ADAPTER_CACHE_MB", "PEFTD_SERVING_MAX_CONCURRENT", "PEFTD_SERVING_STREAM_TIMEOUT"]
      .every((k) => /^[0-9]+[a-z]*$/.test(config[k] ?? "")), JSON.stringify(config));

  const sm = objs.find((o) => o.kind === "ServiceMonitor");
  const services = objs.filter((o) => o.kind === "Service");
  const selects = (svc) => Object.entries(sm?.spec.selector.matchLabels ?? {}).every(([k, v]) => svc.metadata.labels[k] === v);
  check(`${label}: ServiceMonitor selects the API and worker Services`, !!sm && services.length === 2 && services.every(selects));
  check(`${label}: ServiceMonitor scrapes /actuator/prometheus on port http`,
    sm?.spec.endpoints[0].path === "/actuator/prometheus" && sm?.spec.endpoints[0].port === "http");
  const scrapeAuth = sm?.spec.endpoints[0].authorization;
  check(`${label}: ServiceMonitor sends a bearer key read from a Secret`,
    scrapeAuth?.type === "Bearer" && scrapeAuth?.credentials?.name?.endsWith("-metrics") && !!scrapeAuth?.credentials?.key);
  for (const suffix of ["-api", "-worker"]) {
    const operatorKeys = env(container(find(objs, "Deployment", suffix)), "PEFTD_OPERATOR_KEYS")?.valueFrom?.secretKeyRef;
    check(`${label}: ${suffix} pods accept the ServiceMonitor's key as the operator key`,
      operatorKeys?.name === scrapeAuth?.credentials?.name && operatorKeys?.key === scrapeAuth?.credentials?.key,
      JSON.stringify(operatorKeys));
  }

  const rule = objs.find((o) => o.kind === "PrometheusRule");
  const alerts = parse(readFileSync(`${chart}/files/prometheus/peftd-alerts.yml`, "utf8"));
  check(`${label}: PrometheusRule carries files/prometheus/peftd-alerts.yml`,
    canonical(rule?.spec) === canonical(alerts));
  const dash = find(objs, "ConfigMap", "-dashboard");
  const shipped = JSON.parse(readFileSync(`${chart}/files/grafana/peftd.json`, "utf8"));
  check(`${label}: dashboard ConfigMap labelled for the Grafana sidecar`, dash?.metadata.labels.grafana_dashboard === "1");
  check(`${label}: dashboard ConfigMap carries files/grafana/peftd.json`,
    !!dash && canonical(JSON.parse(dash.data["peftd.json"])) === canonical(shipped));
}

const defaults = load(defaultRender), gpu = load(gpuRender);
common("default", defaults);
common("gpu", gpu);

const cpuWorker = container(find(defaults, "Deployment", "-worker"));
check("default: worker shutdown (checkpoint, release) ends before the 300 s grace period",
  env(cpuWorker, "PEFTD_WORKER_SHUTDOWN_TIMEOUT")?.value === "240s"
  && find(defaults, "Deployment", "-worker").spec.template.spec.terminationGracePeriodSeconds === 300);
check("default: CPU worker, one worker, no GPU request",
  env(cpuWorker, "PEFTD_WORKER_DEVICES")?.value === "cpu" && env(cpuWorker, "PEFTD_WORKER_COUNT")?.value === "1"
  && !JSON.stringify(cpuWorker.resources).includes("nvidia.com/gpu"));

const gpuDeployment = find(gpu, "Deployment", "-worker"), gpuWorker = container(gpuDeployment);
const podSpec = gpuDeployment.spec.template.spec;
check("gpu: worker requests 2 nvidia.com/gpu", gpuWorker.resources.limits["nvidia.com/gpu"] === 2,
  JSON.stringify(gpuWorker.resources));
check("gpu: one worker per GPU on gpu:0,gpu:1",
  env(gpuWorker, "PEFTD_WORKER_DEVICES")?.value === "gpu:0,gpu:1" && env(gpuWorker, "PEFTD_WORKER_COUNT")?.value === "2");
check("gpu: worker uses the -gpu image", gpuWorker.image.endsWith("-gpu"), gpuWorker.image);
check("gpu: worker node selector and GPU toleration",
  podSpec.nodeSelector?.["nvidia.com/gpu.present"] === "true"
  && podSpec.tolerations?.some((t) => t.key === "nvidia.com/gpu" && t.effect === "NoSchedule"));
check("gpu: API stays on CPU", !JSON.stringify(container(find(gpu, "Deployment", "-api")).resources).includes("nvidia.com/gpu"));
check("gpu: API HorizontalPodAutoscaler targets the API Deployment",
  gpu.some((o) => o.kind === "HorizontalPodAutoscaler" && o.spec.scaleTargetRef.name === find(gpu, "Deployment", "-api").metadata.name));
check("gpu: API Deployment leaves replicas to the autoscaler", find(gpu, "Deployment", "-api").spec.replicas === undefined);

console.log(`chart assertions: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
