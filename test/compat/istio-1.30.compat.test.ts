/**
 * Compatibility with Istio 1.30's injector. Each case is a pod written to mirror one of Istio
 * 1.30.3's injection test inputs (pkg/kube/inject/testdata/inject/<case>.yaml), injected with
 * Istio's default settings (native sidecars on), and checked aspect by aspect against values
 * written down from reading Istio's golden output for that case (<case>.yaml.injected).
 *
 * Differences of spelling that do not change the pod are normalised before comparing: quantities
 * are compared by value (Istio writes cpu "2", we write "2000m"), zero-valued probe fields are
 * dropped (Go omits them), and the differences README's "Compatibility with Istio 1.30" lists on
 * purpose are not asserted (see the notes per case).
 */
import { describe, expect, it } from "@jest/globals";
import { type InjectionContext, runInjection } from "../../src/injection/pipeline.js";
import type { Container, Pod } from "../../src/injection/pod.js";
import { parseQuantity } from "../../src/validation/formats.js";
import { testContext } from "../support/builders.js";

/** Istio 1.30's defaults: native sidecars on. */
const ISTIO_DEFAULTS: InjectionContext = testContext({ nativeSidecars: "true" });

type Json = Record<string, unknown>;

function pod(name: string, spec: { annotations?: Record<string, string>; labels?: Record<string, string>; containers?: Json[]; initContainers?: Json[] }): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      ...(spec.labels && { labels: spec.labels }),
      ...(spec.annotations && { annotations: spec.annotations }),
    },
    spec: {
      containers: (spec.containers ?? [
        { name: "hello", image: "fake.docker.io/google-samples/hello-go-gke:1.0", ports: [{ name: "http", containerPort: 80 }] },
      ]) as Container[],
      ...(spec.initContainers && { initContainers: spec.initContainers as Container[] }),
    },
  } as Pod;
}

function inject(input: Pod, ctx = ISTIO_DEFAULTS): Pod {
  const result = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: input }, ctx);
  expect(result.decision.verdict).toBe("inject");
  if (result.mutated === undefined) throw new Error("no pod");
  return result.mutated;
}

const find = (list: Container[] | undefined, name: string): Container | undefined => list?.find((c) => c.name === name);

function quantities(resources: unknown): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [kind, list] of Object.entries((resources ?? {}) as Record<string, Record<string, string>>)) {
    out[kind] = Object.fromEntries(Object.entries(list).map(([r, q]) => [r, parseQuantity(String(q))]));
  }
  return out;
}

function withoutZeros(probe: unknown): unknown {
  if (probe === undefined) return undefined;
  return Object.fromEntries(Object.entries(probe as Json).filter(([, v]) => v !== 0));
}

const envNames = (c: Container | undefined) => ((c?.env ?? []) as Array<{ name: string }>).map((e) => e.name);
const envValue = (c: Container | undefined, name: string) => ((c?.env ?? []) as Array<{ name: string; value?: string }>).find((e) => e.name === name)?.value;
const mountNames = (c: Container | undefined) => ((c?.volumeMounts ?? []) as Array<{ name: string }>).map((m) => m.name);
const volumeNames = (p: Pod) => (p.spec.volumes ?? []).map((v) => v.name);
const status = (p: Pod) => JSON.parse(p.metadata.annotations?.["sidecar.istio.io/status"] ?? "null") as Json;

// Values read from Istio 1.30.3's goldens, shared by most cases.
const SIDECAR_VOLUMES = ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert", "istio-ca-crl"];
const SIDECAR_MOUNTS = ["workload-socket", "credential-socket", "workload-certs", "istiod-ca-cert", "istio-ca-crl", "istio-data", "istio-envoy", "istio-token", "istio-podinfo"];
const SIDECAR_ENV = [
  "PILOT_CERT_PROVIDER", "CA_ADDR", "POD_NAME", "POD_NAMESPACE", "INSTANCE_IP", "SERVICE_ACCOUNT", "HOST_IP", "ISTIO_CPU_LIMIT", "PROXY_CONFIG",
  "ISTIO_META_POD_PORTS", "ISTIO_META_APP_CONTAINERS", "GOMEMLIMIT", "GOMAXPROCS", "ISTIO_META_CLUSTER_ID", "ISTIO_META_NODE_NAME",
  "ISTIO_META_INTERCEPTION_MODE", "ISTIO_META_WORKLOAD_NAME", "ISTIO_META_OWNER", "ISTIO_META_MESH_ID", "TRUST_DOMAIN",
];
const DEFAULT_RESOURCES = { limits: { cpu: 2, memory: 1024 ** 3 }, requests: { cpu: 0.1, memory: 128 * 1024 ** 2 } };
const INIT_ARGS = (d: string, ...rest: string[]) => [
  "istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", d, ...rest, "--log_output_level=default:info",
];
const PROXY_ARGS = ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"];
const READINESS = { failureThreshold: 4, httpGet: { path: "/healthz/ready", port: 15021 }, periodSeconds: 15, timeoutSeconds: 3 };
const STARTUP = { failureThreshold: 600, httpGet: { path: "/healthz/ready", port: 15021 }, periodSeconds: 1, timeoutSeconds: 3 };
const PROXY_SECURITY = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, privileged: false, readOnlyRootFilesystem: true, runAsGroup: 1337, runAsNonRoot: true, runAsUser: 1337 };
const INIT_SECURITY = {
  allowPrivilegeEscalation: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] }, privileged: false, readOnlyRootFilesystem: false,
  runAsGroup: 0, runAsNonRoot: false, runAsUser: 0,
};
const DRAIN = { preStop: { exec: { command: ["pilot-agent", "request", "--debug-port=15020", "POST", "drain"] } } };
const SCRAPE = { "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020", "prometheus.io/scrape": "true" };
const STATUS = (initContainers: string[] | null, containers: string[] | null, volumes = SIDECAR_VOLUMES) => ({ initContainers, containers, volumes, imagePullSecrets: null, revision: "default" });

/** The aspects every native sidecar case shares (hello.yaml.injected). */
function expectNativeSidecar(out: Pod, apps: string): void {
  const init = find(out.spec.initContainers, "istio-init");
  const proxy = find(out.spec.initContainers, "istio-proxy");
  expect(out.spec.initContainers?.slice(0, 2).map((c) => c.name)).toEqual(["istio-init", "istio-proxy"]);
  expect(find(out.spec.containers, "istio-proxy")).toBeUndefined();
  expect(init?.securityContext).toEqual(INIT_SECURITY);
  expect(proxy?.restartPolicy).toBe("Always");
  expect(proxy?.args).toEqual(PROXY_ARGS);
  expect(proxy?.ports).toEqual([{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }]);
  expect(proxy?.securityContext).toEqual(PROXY_SECURITY);
  expect(withoutZeros(proxy?.startupProbe)).toEqual(STARTUP);
  expect(proxy?.lifecycle).toEqual(DRAIN);
  expect(envNames(proxy).slice(0, SIDECAR_ENV.length)).toEqual(SIDECAR_ENV);
  expect(envValue(proxy, "ISTIO_META_APP_CONTAINERS")).toBe(apps);
  expect(mountNames(proxy)).toEqual(SIDECAR_MOUNTS);
  expect(volumeNames(out).slice(-SIDECAR_VOLUMES.length)).toEqual(SIDECAR_VOLUMES);
  expect(out.metadata.labels?.["security.istio.io/tlsMode"]).toBe("istio");
  expect(out.metadata.annotations?.["istio.io/rev"]).toBe("default");
}

describe("Istio 1.30 compatibility (values from Istio's goldens)", () => {
  it("hello: the default native sidecar", () => {
    const out = inject(pod("hello", { labels: { app: "hello", tier: "backend", track: "stable" } }));
    expectNativeSidecar(out, "hello");
    expect(find(out.spec.initContainers, "istio-init")?.args).toEqual(INIT_ARGS("15090,15021,15020"));
    expect(quantities(find(out.spec.initContainers, "istio-init")?.resources)).toEqual(DEFAULT_RESOURCES);
    expect(quantities(find(out.spec.initContainers, "istio-proxy")?.resources)).toEqual(DEFAULT_RESOURCES);
    expect(withoutZeros(find(out.spec.initContainers, "istio-proxy")?.readinessProbe)).toEqual(READINESS);
    expect(envValue(find(out.spec.initContainers, "istio-proxy"), "ISTIO_META_INTERCEPTION_MODE")).toBe("REDIRECT");
    expect(JSON.parse(envValue(find(out.spec.initContainers, "istio-proxy"), "ISTIO_META_POD_PORTS") ?? "")).toEqual([{ name: "http", containerPort: 80 }]);
    expect(out.metadata.labels).toEqual({
      app: "hello", tier: "backend", track: "stable", "security.istio.io/tlsMode": "istio",
      "service.istio.io/canonical-name": "hello", "service.istio.io/canonical-revision": "latest",
    });
    expect(out.metadata.annotations).toMatchObject({
      "istio.io/rev": "default", "kubectl.kubernetes.io/default-container": "hello", "kubectl.kubernetes.io/default-logs-container": "hello", ...SCRAPE,
    });
    expect(status(out)).toEqual(STATUS(["istio-init", "istio-proxy"], null));
    expect(out.spec.containers.map((c) => c.name)).toEqual(["hello"]);
  });

  it("hello-multi: a version label names the canonical revision", () => {
    const out = inject(pod("hello", { labels: { app: "hello", version: "v1", tier: "backend", track: "stable" } }));
    expectNativeSidecar(out, "hello");
    expect(out.metadata.labels?.["service.istio.io/canonical-revision"]).toBe("v1");
  });

  it("multi-container: every app container is listed, the first is the default", () => {
    const c = (name: string) => ({ name, image: "fake.docker.io/google-samples/traffic-go-gke:1.0" });
    const out = inject(pod("app", { labels: { app: "app" }, containers: [c("name1"), c("name2"), c("name3")] }));
    expectNativeSidecar(out, "name1,name2,name3");
    expect(out.metadata.annotations?.["kubectl.kubernetes.io/default-container"]).toBe("name1");
    expect(out.spec.containers.map((x) => x.name)).toEqual(["name1", "name2", "name3"]);
  });

  it("hello-probes: app probes point at the agent, originals in ISTIO_KUBE_APP_PROBERS", () => {
    const out = inject(
      pod("hello", {
        labels: { app: "hello", tier: "backend", track: "stable" },
        containers: [
          {
            name: "hello", image: "fake.docker.io/google-samples/hello-go-gke:1.0", ports: [{ name: "http", containerPort: 80 }],
            livenessProbe: { httpGet: { port: 80 } }, readinessProbe: { httpGet: { port: 3333 } },
          },
          {
            name: "world", image: "fake.docker.io/google-samples/hello-go-gke:1.0", ports: [{ name: "http", containerPort: 90 }],
            livenessProbe: { httpGet: { port: 90 } }, readinessProbe: { exec: { command: ["cat", "/tmp/healthy"] } },
          },
        ],
      }),
    );
    expectNativeSidecar(out, "hello,world");
    const hello = find(out.spec.containers, "hello");
    const world = find(out.spec.containers, "world");
    expect(hello?.readinessProbe).toEqual({ httpGet: { path: "/app-health/hello/readyz", port: 15020 } });
    expect(hello?.livenessProbe).toEqual({ httpGet: { path: "/app-health/hello/livez", port: 15020 } });
    expect(world?.readinessProbe).toEqual({ exec: { command: ["cat", "/tmp/healthy"] } });
    expect(world?.livenessProbe).toEqual({ httpGet: { path: "/app-health/world/livez", port: 15020 } });
    const proxy = find(out.spec.initContainers, "istio-proxy");
    expect(envNames(proxy).at(-1)).toBe("ISTIO_KUBE_APP_PROBERS");
    expect(JSON.parse(envValue(proxy, "ISTIO_KUBE_APP_PROBERS") ?? "")).toEqual({
      "/app-health/hello/livez": { httpGet: { port: 80 } },
      "/app-health/hello/readyz": { httpGet: { port: 3333 } },
      "/app-health/world/livez": { httpGet: { port: 90 } },
    });
    expect(JSON.parse(envValue(proxy, "ISTIO_META_POD_PORTS") ?? "")).toEqual([{ name: "http", containerPort: 80 }, { name: "http", containerPort: 90 }]);
  });

  it.each([
    ["prometheus-scrape", { "prometheus.io/scrape": "false" }],
    ["prometheus-scrape2", { "prometheus.io.scrape": "false" }],
  ])("%s: a scrape annotation that reads false, in any spelling, keeps the pod out of the merge", (_name, annotations) => {
    const out = inject(pod("hellopod", { annotations }));
    expect(out.metadata.annotations).toEqual({
      ...annotations,
      "istio.io/rev": "default",
      "kubectl.kubernetes.io/default-container": "hello",
      "kubectl.kubernetes.io/default-logs-container": "hello",
      "sidecar.istio.io/status": JSON.stringify(STATUS(["istio-init", "istio-proxy"], null)),
      "sidecar-injector.io/template-hash": expect.any(String),
    });
  });

  it("resource_annotations: the annotations size the proxy and the init container, nothing else", () => {
    const annotations = { "sidecar.istio.io/proxyCPU": "100m", "sidecar.istio.io/proxyCPULimit": "1000m", "sidecar.istio.io/proxyMemory": "1Gi", "sidecar.istio.io/proxyMemoryLimit": "2Gi" };
    const out = inject(pod("resource", { annotations, labels: { app: "resource" } }));
    const expected = { limits: { cpu: 1, memory: 2 * 1024 ** 3 }, requests: { cpu: 0.1, memory: 1024 ** 3 } };
    expect(quantities(find(out.spec.initContainers, "istio-init")?.resources)).toEqual(expected);
    expect(quantities(find(out.spec.initContainers, "istio-proxy")?.resources)).toEqual(expected);
  });

  it("traffic-annotations: proxyCPU 4000m alone is admitted with only that request; iptables flags from the annotations", () => {
    const out = inject(
      pod("traffic", {
        labels: { app: "traffic" },
        annotations: {
          "sidecar.istio.io/proxyCPU": "4000m",
          "traffic.sidecar.istio.io/includeInboundPorts": "1,2,3",
          "traffic.sidecar.istio.io/excludeInboundPorts": "4,5,6",
          "traffic.sidecar.istio.io/excludeOutboundPorts": "7,8,9",
          "traffic.sidecar.istio.io/includeOutboundIPRanges": "127.0.0.1/24,10.96.0.1/24",
          "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.96.0.2/24,10.96.0.3/24",
        },
        containers: [{ name: "traffic", image: "fake.docker.io/google-samples/traffic-go-gke:1.0", ports: [{ name: "http", containerPort: 80 }] }],
      }),
    );
    expect(find(out.spec.initContainers, "istio-init")?.args).toEqual([
      "istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
      "-i", "127.0.0.1/24,10.96.0.1/24", "-x", "10.96.0.2/24,10.96.0.3/24", "-b", "1,2,3", "-d", "15090,15021,4,5,6,15020", "-o", "7,8,9",
      "--log_output_level=default:info",
    ]);
    expect(quantities(find(out.spec.initContainers, "istio-init")?.resources)).toEqual({ requests: { cpu: 4 } });
    expect(quantities(find(out.spec.initContainers, "istio-proxy")?.resources)).toEqual({ requests: { cpu: 4 } });
    // Not asserted: Istio's case also sets proxy.istio.io/config proxyMetadata, which it turns into env (not supported here).
  });

  it.each([
    ["kubevirtInterfaces", { "traffic.sidecar.istio.io/kubevirtInterfaces": "net1" }, "net1"],
    ["reroute-virtual-interfaces", { "istio.io/reroute-virtual-interfaces": "net0ps2", "traffic.sidecar.istio.io/kubevirtInterfaces": "net1" }, "net0ps2"],
  ])("%s: -k names the rerouted interfaces (the newer annotation wins)", (_name, annotations, k) => {
    // Istio's goldens for these cases run with status port 123 in the mesh config; -d follows it.
    const out = inject(pod("hello", { annotations: { ...annotations, "status.sidecar.istio.io/port": "123" }, labels: { app: "hello", tier: "backend", track: "stable" } }));
    expect(find(out.spec.initContainers, "istio-init")?.args).toEqual(INIT_ARGS("15090,15021,123", "-k", k));
  });

  it("status_annotations: status port and readiness settings", () => {
    const out = inject(
      pod("status", {
        labels: { app: "status" },
        annotations: {
          "status.sidecar.istio.io/port": "123",
          "readiness.status.sidecar.istio.io/initialDelaySeconds": "100",
          "readiness.status.sidecar.istio.io/periodSeconds": "200",
          "readiness.status.sidecar.istio.io/failureThreshold": "300",
          "readiness.status.sidecar.istio.io/applicationPorts": "1,2,3",
        },
        containers: [{ name: "status", image: "fake.docker.io/google-samples/traffic-go-gke:1.0", ports: [{ name: "http", containerPort: 80 }] }],
      }),
    );
    expect(find(out.spec.initContainers, "istio-init")?.args).toEqual(INIT_ARGS("15090,15021,123"));
    const proxy = find(out.spec.initContainers, "istio-proxy");
    expect(withoutZeros(proxy?.readinessProbe)).toEqual({ failureThreshold: 300, httpGet: { path: "/healthz/ready", port: 15021 }, initialDelaySeconds: 100, periodSeconds: 200, timeoutSeconds: 3 });
    expect(proxy?.lifecycle).toEqual({ preStop: { exec: { command: ["pilot-agent", "request", "--debug-port=123", "POST", "drain"] } } });
  });

  it("native-sidecar: the proxy goes before the app's own sidecars and init containers", () => {
    const out = inject(pod("hello", { initContainers: [{ name: "other-sidecar", image: "fake.docker.io/other:1", restartPolicy: "Always" }] }));
    expect(out.spec.initContainers?.map((c) => c.name)).toEqual(["istio-init", "istio-proxy", "other-sidecar"]);
  });

  it("init-no-intercept-no-native-sidecar: interceptionMode NONE leaves istio-init out", () => {
    const out = inject(
      pod("hello", {
        annotations: { "sidecar.istio.io/interceptionMode": "NONE" },
        labels: { app: "hello", tier: "backend", track: "stable" },
        initContainers: [{ name: "init-one", image: "fake.docker.io/init:1" }],
      }),
    );
    expect(out.spec.initContainers?.map((c) => c.name)).toEqual(["istio-proxy", "init-one"]);
    expect(envValue(find(out.spec.initContainers, "istio-proxy"), "ISTIO_META_INTERCEPTION_MODE")).toBe("NONE");
    expect(find(out.spec.initContainers, "istio-proxy")?.securityContext).toEqual(PROXY_SECURITY);
    expect(status(out)).toEqual(STATUS(["istio-proxy"], null));
  });

  it("gateway: the pod's own istio-proxy (image auto) becomes a gateway", () => {
    const out = inject(
      pod("istio-ingressgateway", {
        labels: { istio: "ingressgateway" },
        annotations: { "inject.istio.io/templates": "gateway" },
        containers: [{ name: "istio-proxy", image: "auto", imagePullPolicy: "IfNotPresent" }],
      }),
    );
    const proxy = find(out.spec.containers, "istio-proxy");
    expect(out.spec.containers.map((c) => c.name)).toEqual(["istio-proxy"]);
    expect(out.spec.initContainers).toBeUndefined();
    expect(proxy?.image).toBe(ISTIO_DEFAULTS.template.config.sidecar.image);
    expect(proxy?.args).toEqual(["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"]);
    expect(proxy?.ports).toEqual([{ containerPort: 15090, name: "http-envoy-prom", protocol: "TCP" }]);
    expect(withoutZeros(proxy?.readinessProbe)).toEqual(READINESS);
    expect(proxy?.startupProbe).toBeUndefined();
    expect(proxy?.lifecycle).toBeUndefined();
    expect(proxy?.securityContext).toEqual({ runAsGroup: 1337, runAsUser: 1337 });
    expect(envNames(proxy)).toEqual([
      "PILOT_CERT_PROVIDER", "CA_ADDR", "POD_NAME", "POD_NAMESPACE", "INSTANCE_IP", "SERVICE_ACCOUNT", "HOST_IP", "ISTIO_CPU_LIMIT", "PROXY_CONFIG",
      "ISTIO_META_POD_PORTS", "GOMEMLIMIT", "GOMAXPROCS", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_CLUSTER_ID", "ISTIO_META_NODE_NAME",
      "ISTIO_META_INTERCEPTION_MODE", "ISTIO_META_WORKLOAD_NAME", "ISTIO_META_OWNER", "ISTIO_META_MESH_ID", "TRUST_DOMAIN",
    ]);
    expect(mountNames(proxy)).toEqual(["workload-socket", "credential-socket", "workload-certs", "istiod-ca-cert", "istio-data", "istio-envoy", "istio-token", "istio-podinfo"]);
    const gatewayVolumes = SIDECAR_VOLUMES.filter((v) => v !== "istio-ca-crl");
    expect(volumeNames(out)).toEqual(gatewayVolumes);
    expect(out.spec.securityContext).toEqual({ sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] });
    expect(out.metadata.labels).toEqual({ istio: "ingressgateway", "service.istio.io/canonical-name": "istio-ingressgateway", "service.istio.io/canonical-revision": "latest" });
    expect(out.metadata.annotations).toMatchObject({ "istio.io/rev": "default", ...SCRAPE });
    expect(out.metadata.annotations?.["kubectl.kubernetes.io/default-container"]).toBeUndefined();
    expect(JSON.parse(out.metadata.annotations?.["proxy.istio.io/overrides"] ?? "")).toEqual({ containers: [{ name: "istio-proxy", imagePullPolicy: "IfNotPresent" }] });
    expect(status(out)).toEqual(STATUS(null, ["istio-proxy"], gatewayVolumes));
  });

  it("grpc-agent: the agent alone, sharing its xDS socket with the app", () => {
    const out = inject(
      pod("grpc", {
        labels: { app: "grpc" },
        annotations: { "inject.istio.io/templates": "grpc-agent" },
        containers: [{ name: "traffic", image: "fake.docker.io/google-samples/traffic-go-gke:1.0", readinessProbe: { httpGet: { port: 80 } } }],
      }),
    );
    const proxy = find(out.spec.containers, "istio-proxy");
    const app = find(out.spec.containers, "traffic");
    expect(out.spec.containers.map((c) => c.name)).toEqual(["traffic", "istio-proxy"]);
    expect(proxy?.ports).toEqual([{ containerPort: 15020, name: "mesh-metrics", protocol: "TCP" }]);
    expect(proxy?.lifecycle).toEqual({ postStart: { exec: { command: ["pilot-agent", "wait", "--url=http://localhost:15020/healthz/ready"] } } });
    expect(withoutZeros(proxy?.readinessProbe)).toEqual({ ...READINESS, httpGet: { path: "/healthz/ready", port: 15020 } });
    expect(envNames(proxy)).toEqual([
      "ISTIO_META_GENERATOR", "OUTPUT_CERTS", "PILOT_CERT_PROVIDER", "CA_ADDR", "POD_NAME", "POD_NAMESPACE", "INSTANCE_IP", "SERVICE_ACCOUNT", "HOST_IP",
      "PROXY_CONFIG", "ISTIO_META_POD_PORTS", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_CLUSTER_ID", "ISTIO_META_NODE_NAME", "ISTIO_META_WORKLOAD_NAME",
      "ISTIO_META_OWNER", "ISTIO_META_MESH_ID", "TRUST_DOMAIN", "ISTIO_META_DNS_CAPTURE", "DISABLE_ENVOY",
    ]);
    expect(quantities(proxy?.resources)).toEqual(DEFAULT_RESOURCES);
    expect(mountNames(proxy)).toEqual(["workload-socket", "workload-certs", "istiod-ca-cert", "istio-data", "istio-xds", "istio-token", "istio-podinfo"]);
    expect(envNames(app)).toEqual(["GRPC_XDS_EXPERIMENTAL_SECURITY_SUPPORT", "GRPC_XDS_BOOTSTRAP"]);
    expect(app?.readinessProbe).toEqual({ httpGet: { port: 80 } }); // probe rewriting is off
    expect(volumeNames(out)).toEqual(["workload-socket", "workload-certs", "istio-xds", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"]);
    expect(out.metadata.labels).toEqual({ app: "grpc", "service.istio.io/canonical-name": "grpc", "service.istio.io/canonical-revision": "latest" });
    expect(out.metadata.annotations).toMatchObject({ "istio.io/rev": "default", "sidecar.istio.io/rewriteAppHTTPProbers": "false", ...SCRAPE });
    // The app container the template changed is listed and recorded as the user wrote it, as Istio does.
    expect(status(out)).toEqual(STATUS(null, ["istio-proxy", "traffic"], ["workload-socket", "workload-certs", "istio-xds", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"]));
    expect(JSON.parse(out.metadata.annotations?.["proxy.istio.io/overrides"] ?? "")).toEqual({
      containers: [{ name: "traffic", image: "fake.docker.io/google-samples/traffic-go-gke:1.0", readinessProbe: { httpGet: { port: 80 } } }],
    });
  });

  it("grpc-simple: a bootstrap init container and no proxy", () => {
    const out = inject(
      pod("grpc", {
        labels: { app: "grpc" },
        annotations: { "inject.istio.io/templates": "grpc-simple" },
        containers: [{ name: "traffic", image: "fake.docker.io/google-samples/traffic-go-gke:1.0", readinessProbe: { httpGet: { port: 80 } } }],
      }),
    );
    expect(out.spec.initContainers?.map((c) => c.name)).toEqual(["grpc-bootstrap-init"]);
    expect(find(out.spec.initContainers, "grpc-bootstrap-init")?.image).toBe("busybox:1.28");
    expect(envNames(find(out.spec.initContainers, "grpc-bootstrap-init"))).toEqual(["INSTANCE_IP", "POD_NAME", "POD_NAMESPACE", "ISTIO_NAMESPACE"]);
    expect(envValue(find(out.spec.initContainers, "grpc-bootstrap-init"), "ISTIO_NAMESPACE")).toBe("istio-system\n");
    expect(out.spec.containers.map((c) => c.name)).toEqual(["traffic"]);
    expect(envNames(find(out.spec.containers, "traffic"))).toEqual(["GRPC_XDS_BOOTSTRAP", "GRPC_GO_LOG_VERBOSITY_LEVEL", "GRPC_GO_LOG_SEVERITY_LEVEL"]);
    expect(mountNames(find(out.spec.containers, "traffic"))).toEqual(["grpc-io-proxyless-bootstrap"]);
    expect(volumeNames(out)).toEqual(["grpc-io-proxyless-bootstrap"]);
    expect(out.metadata.labels).toEqual({ app: "grpc" });
    expect(out.metadata.annotations?.["istio.io/rev"]).toBeUndefined();
    expect(out.metadata.annotations).toMatchObject({ "sidecar.istio.io/rewriteAppHTTPProbers": "false", ...SCRAPE });
    expect(status(out)).toEqual(STATUS(["grpc-bootstrap-init"], ["traffic"], ["grpc-io-proxyless-bootstrap"]));
    expect(JSON.parse(out.metadata.annotations?.["proxy.istio.io/overrides"] ?? "")).toEqual({
      containers: [{ name: "traffic", image: "fake.docker.io/google-samples/traffic-go-gke:1.0", readinessProbe: { httpGet: { port: 80 } } }],
    });
  });

  it("hello-proxy-override: sidecar.istio.io/proxyImage runs both the proxy and istio-init", () => {
    const image = "registry.istio.io/release/proxy2_debug:unittest";
    const out = inject(pod("hello", { annotations: { "sidecar.istio.io/proxyImage": image } }));
    expect(find(out.spec.initContainers, "istio-init")?.image).toBe(image);
    expect(find(out.spec.initContainers, "istio-proxy")?.image).toBe(image);
  });

  it("a user's istio-proxy is merged and remembered in Istio's proxy.istio.io/overrides format", () => {
    const out = inject(
      pod("hello", {
        containers: [
          { name: "hello", image: "fake.docker.io/google-samples/hello-go-gke:1.0" },
          { name: "istio-proxy", image: "auto", resources: { limits: { memory: "2Gi" } } },
        ],
      }),
    );
    const proxy = find(out.spec.initContainers, "istio-proxy");
    expect(proxy?.image).toBe(ISTIO_DEFAULTS.template.config.sidecar.image);
    expect(quantities(proxy?.resources)).toEqual({ ...DEFAULT_RESOURCES, limits: { ...DEFAULT_RESOURCES.limits, memory: 2 * 1024 ** 3 } });
    expect(JSON.parse(out.metadata.annotations?.["proxy.istio.io/overrides"] ?? "")).toEqual({
      initContainers: [{ name: "istio-proxy", resources: { limits: { memory: "2Gi" } } }],
    });
  });

  it("status-annotation reinjection: a pod injected by istiod 1.30 is recognised as injected", () => {
    // The shape of hello.yaml.injected: Istio's status record, its containers present.
    const injectedByIstio = pod("hello", {
      annotations: { "sidecar.istio.io/status": JSON.stringify(STATUS(["istio-init", "istio-proxy"], null)), "istio.io/rev": "default" },
      initContainers: [
        { name: "istio-init", image: "registry.istio.io/testing/proxyv2:latest" },
        { name: "istio-proxy", image: "registry.istio.io/testing/proxyv2:latest", restartPolicy: "Always" },
      ],
    });
    const result = runInjection(
      { request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: injectedByIstio },
      ISTIO_DEFAULTS,
    );
    expect(result.decision.verdict).toBe("already_injected");
    expect(result.patch).toEqual([]);
    // And ours, reinvoked, is left alone too.
    const ours = inject(pod("hello", {}));
    const again = runInjection({ request: { operation: "CREATE", kind: { group: "", version: "v1", kind: "Pod" } }, namespace: "default", object: ours }, ISTIO_DEFAULTS);
    expect(again.decision.verdict).toBe("already_injected");
  });
});
