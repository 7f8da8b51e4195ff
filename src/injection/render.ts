/**
 * Render the sidecar for one pod: the init container, the proxy container, the volumes, the labels
 * and annotations to add and the status record. Pure: template + pod + validated overrides in,
 * plain JSON out. Values follow Istio's injection template.
 */
import {
  Annotation,
  ContainerName,
  Label,
  PROXY_UID,
  ProxyPort,
  VolumeName,
  type Resources,
} from "../config/config.js";
import { deepFreeze } from "../json-values.js";
import { type PodOverrides, mergeResources } from "./annotations.js";
import { rewriteAppProbes } from "./app-probe.js";
import { mergeProxy } from "./proxy-overrides.js";
import { type Container, type ContainerPort, type Pod, type StringMap, type Volume, lookup } from "./pod.js";
import type { SidecarStatus } from "./status.js";
import type { InjectionTemplate } from "./template.js";
import { type WorkloadRef, workloadOf } from "./workload.js";

export interface RenderedSidecar {
  /** Whether the proxy is a native sidecar (an init container with restartPolicy: Always). */
  readonly native: boolean;
  readonly init: Container;
  readonly proxy: Container;
  readonly volumes: readonly Volume[];
  /** Labels to add where the pod does not set them already. */
  readonly labels: StringMap;
  /** Annotations to add where the pod does not set them already. */
  readonly annotations: StringMap;
  /** Annotations to set even where the pod sets them (the Prometheus merge). */
  readonly overwriteAnnotations: StringMap;
  /** Classic mode with holdApplicationUntilProxyStarts: the proxy goes first and the app waits. */
  readonly holdApplication: boolean;
  /** The app containers with rewritten probes, when any probe was rewritten. */
  readonly appContainers?: readonly Container[];
  readonly imagePullSecrets: readonly string[];
  readonly status: SidecarStatus;
}

export interface RenderInput {
  readonly pod: Pod;
  readonly namespace: string;
  readonly overrides: PodOverrides;
  readonly native: boolean;
  /** The pod's workload (derived from its owner references when absent). */
  readonly workload?: WorkloadRef;
  /** The user's own istio-proxy fields, merged over the rendered proxy. */
  readonly userProxy?: Readonly<Record<string, unknown>> | null;
}

/**
 * Render results that depend only on the template and the pod's override values are memoized per
 * template and deep-frozen: most pods share them, and patch encoding caches the JSON of frozen
 * objects. The memo is bounded because override values come from users.
 */
const MEMO_LIMIT = 512;
const memos = new WeakMap<InjectionTemplate, Map<string, unknown>>();

function memoized<T>(t: InjectionTemplate, key: string, build: () => T): T {
  let memo = memos.get(t);
  if (memo === undefined) {
    memo = new Map();
    memos.set(t, memo);
  }
  let value = memo.get(key) as T | undefined;
  if (value === undefined) {
    value = deepFreeze(build());
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(key, value);
  }
  return value;
}

function isEmpty(o: PodOverrides): boolean {
  for (const _ in o) return false;
  return true;
}

function resourcesJson(r: Resources): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  if (Object.keys(r.requests).length > 0) out.requests = { ...r.requests };
  if (Object.keys(r.limits).length > 0) out.limits = { ...r.limits };
  return out;
}

/**
 * The ports excluded from inbound capture: Envoy's Prometheus and health ports always, then the
 * user's list, then the agent's status port unless listed already (Istio's excludeInboundPort).
 */
export function excludedInboundPorts(userList: string): string {
  const status = String(ProxyPort.AgentStatus);
  const user = userList
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const rest = user.includes(status) ? user : [...user, status];
  return [String(ProxyPort.EnvoyPrometheus), String(ProxyPort.Health), ...rest].join(",");
}

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

function resourceEnv(name: string, resource: string): Record<string, unknown> {
  return { name, valueFrom: { resourceFieldRef: { resource } } };
}

/** The app's containers: all but a user-declared istio-proxy (which overrides the sidecar). */
function appContainersOf(pod: Pod): Container[] {
  return pod.spec.containers.filter((c) => c.name !== ContainerName.Proxy);
}

function appPorts(pod: Pod): ContainerPort[] {
  return appContainersOf(pod).flatMap((c) => c.ports ?? []);
}

function renderInit(t: InjectionTemplate, o: PodOverrides): Container {
  // Most pods carry no overrides: their key is a constant.
  const key = isEmpty(o)
    ? "init"
    : `init\u0000${o.interceptionMode}\u0000${o.includeOutboundIPRanges}\u0000${o.excludeOutboundIPRanges}\u0000${o.includeInboundPorts}\u0000${o.excludeInboundPorts}\u0000${o.includeOutboundPorts}\u0000${o.excludeOutboundPorts}`;
  return memoized(t, key, () => buildInit(t, o));
}

function buildInit(t: InjectionTemplate, o: PodOverrides): Container {
  const s = t.config.sidecar;
  const args = [
    "istio-iptables",
    "-p",
    String(ProxyPort.Outbound),
    "-z",
    String(ProxyPort.Inbound),
    "-u",
    String(PROXY_UID),
    "-m",
    o.interceptionMode ?? s.interceptionMode,
    "-i",
    o.includeOutboundIPRanges ?? s.includeOutboundIPRanges,
    "-x",
    o.excludeOutboundIPRanges ?? s.excludeOutboundIPRanges,
    "-b",
    o.includeInboundPorts ?? s.includeInboundPorts,
    "-d",
    excludedInboundPorts(o.excludeInboundPorts ?? s.excludeInboundPorts),
  ];
  const includeOut = o.includeOutboundPorts ?? s.includeOutboundPorts;
  if (includeOut !== "") args.push("-q", includeOut);
  const excludeOut = o.excludeOutboundPorts ?? s.excludeOutboundPorts;
  if (excludeOut !== "") args.push("-o", excludeOut);
  args.push(`--log_output_level=${s.agentLogLevel}`);
  if (t.config.cni) {
    // CNI mode: the CNI plugin installs the rules; this container only checks them, unprivileged,
    // so namespaces enforcing the baseline or restricted Pod Security Standard admit the pod.
    return {
      name: ContainerName.Validation,
      image: s.initImage,
      imagePullPolicy: s.imagePullPolicy,
      args: [...args, "--run-validation", "--skip-rule-apply"],
      resources: resourcesJson(s.initResources),
      securityContext: {
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsGroup: PROXY_UID,
        runAsNonRoot: true,
        runAsUser: PROXY_UID,
      },
    };
  }
  return {
    name: ContainerName.Init,
    image: s.initImage,
    imagePullPolicy: s.imagePullPolicy,
    args,
    resources: resourcesJson(s.initResources),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    },
  };
}

function healthProbe(periodSeconds: number, failureThreshold: number): Record<string, unknown> {
  return {
    httpGet: { path: "/healthz/ready", port: ProxyPort.Health },
    initialDelaySeconds: 0,
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  };
}

/** The parts of the proxy container that do not depend on the pod itself (memoized, frozen). */
function proxyBase(t: InjectionTemplate, o: PodOverrides, native: boolean, hold: boolean): Omit<Container, "env"> & { staticEnv: StaticEnv } {
  const key = isEmpty(o)
    ? `proxy\u0000${native}\u0000${hold}`
    : `proxy\u0000${native}\u0000${hold}\u0000${o.interceptionMode}\u0000${o.proxyImage}\u0000${o.logLevel}\u0000${o.proxyCPU}\u0000${o.proxyMemory}\u0000${o.proxyCPULimit}\u0000${o.proxyMemoryLimit}`;
  return memoized(t, key, () => buildProxyBase(t, o, native, hold));
}

interface StaticEnv {
  readonly head: ReadonlyArray<Record<string, unknown>>;
  readonly middle: ReadonlyArray<Record<string, unknown>>;
  readonly tail: ReadonlyArray<Record<string, unknown>>;
}

function buildProxyBase(t: InjectionTemplate, o: PodOverrides, native: boolean, hold: boolean): Omit<Container, "env"> & { staticEnv: StaticEnv } {
  const s = t.config.sidecar;
  const mode = o.interceptionMode ?? s.interceptionMode;
  const tproxy = mode === "TPROXY";
  const proxy: Omit<Container, "env"> & { staticEnv: StaticEnv } = {
    name: ContainerName.Proxy,
    image: o.proxyImage ?? s.image,
    imagePullPolicy: s.imagePullPolicy,
    args: [
      "proxy",
      "sidecar",
      "--domain",
      `$(POD_NAMESPACE).svc.${s.clusterDomain}`,
      `--proxyLogLevel=${o.logLevel ?? s.logLevel}`,
      `--proxyComponentLogLevel=${s.componentLogLevel}`,
      `--log_output_level=${s.agentLogLevel}`,
    ],
    staticEnv: {
      head: [
        { name: "PILOT_CERT_PROVIDER", value: "istiod" },
        { name: "CA_ADDR", value: s.discoveryAddress },
        fieldEnv("POD_NAME", "metadata.name"),
        fieldEnv("POD_NAMESPACE", "metadata.namespace"),
        fieldEnv("INSTANCE_IP", "status.podIP"),
        fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        fieldEnv("HOST_IP", "status.hostIP"),
        resourceEnv("ISTIO_CPU_LIMIT", "limits.cpu"),
      ],
      middle: [
        resourceEnv("GOMEMLIMIT", "limits.memory"),
        resourceEnv("GOMAXPROCS", "limits.cpu"),
        { name: "ISTIO_META_CLUSTER_ID", value: s.clusterId },
        fieldEnv("ISTIO_META_NODE_NAME", "spec.nodeName"),
        { name: "ISTIO_META_INTERCEPTION_MODE", value: mode },
      ],
      tail: [
        { name: "ISTIO_META_MESH_ID", value: s.meshId },
        { name: "TRUST_DOMAIN", value: s.trustDomain },
      ],
    },
    // As Istio 1.30: only Envoy's Prometheus port is declared (the probes name 15021 by number).
    ports: [{ containerPort: ProxyPort.EnvoyPrometheus, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: healthProbe(15, 4),
    startupProbe: healthProbe(1, 600),
    resources: resourcesJson(mergeResources(s.resources, o)),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: tproxy ? { add: ["NET_ADMIN"], drop: ["ALL"] } : { drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: PROXY_UID,
      runAsNonRoot: !tproxy,
      runAsUser: tproxy ? 0 : PROXY_UID,
    },
    volumeMounts: [
      { mountPath: "/var/run/secrets/workload-spiffe-uds", name: VolumeName.WorkloadSocket },
      { mountPath: "/var/run/secrets/credential-uds", name: VolumeName.CredentialSocket },
      { mountPath: "/var/run/secrets/workload-spiffe-credentials", name: VolumeName.WorkloadCerts },
      { mountPath: "/var/run/secrets/istio", name: VolumeName.IstiodCA },
      { mountPath: "/var/run/secrets/istio/crl", name: VolumeName.CaCrl },
      { mountPath: "/var/lib/istio/data", name: VolumeName.Data },
      { mountPath: "/etc/istio/proxy", name: VolumeName.Envoy },
      { mountPath: "/var/run/secrets/tokens", name: VolumeName.Token },
      { mountPath: "/etc/istio/pod", name: VolumeName.PodInfo },
    ],
  };
  if (native) {
    // A restartable init container: starts before the app's init containers, lives as long as the
    // pod, and lets Jobs complete (its startup probe holds the app until it is ready). On
    // shutdown it drains Envoy's listeners first.
    proxy.restartPolicy = "Always";
    proxy.lifecycle = {
      preStop: { exec: { command: ["pilot-agent", "request", `--debug-port=${ProxyPort.AgentStatus}`, "POST", "drain"] } },
    };
  } else if (hold) {
    // The kubelet starts containers in order and runs postStart before the next one: the app
    // starts only once pilot-agent reports the proxy ready.
    proxy.lifecycle = { postStart: { exec: { command: ["pilot-agent", "wait"] } } };
  }
  return proxy;
}

/** The app's Prometheus annotations, when the merge applies to this pod; else null. */
function prometheusScrape(t: InjectionTemplate, pod: Pod, o: PodOverrides): StringMap | null {
  if (!(o.prometheusMerge ?? t.config.prometheusMerge)) return null;
  const annotations = pod.metadata.annotations;
  const declared: StringMap = {};
  for (const [field, key] of [
    ["scrape", Annotation.PrometheusScrape],
    ["path", Annotation.PrometheusPath],
    ["port", Annotation.PrometheusPort],
  ] as const) {
    const value = lookup(annotations, key);
    if (value !== undefined) declared[field] = value;
  }
  if (Object.keys(declared).length === 0) return null; // the app does not ask to be scraped
  if (declared.scrape?.trim().toLowerCase() === "false") return null;
  if (declared.port === String(ProxyPort.AgentStatus)) return null; // already pointed at the agent
  return declared;
}

function renderProxy(
  t: InjectionTemplate,
  input: RenderInput,
  workload: WorkloadRef,
  hold: boolean,
  scrape: StringMap | null,
  probers: string | null,
): Container {
  const { staticEnv, ...base } = proxyBase(t, input.overrides, input.native, hold);
  // Field order as Istio renders it: name, image, pull policy, args, env, then the rest.
  const { name, image, imagePullPolicy, args, ...rest } = base as Container;
  const proxyConfig = { discoveryAddress: t.config.sidecar.discoveryAddress, ...input.overrides.proxyConfig };
  const env = [
    ...staticEnv.head,
    { name: "PROXY_CONFIG", value: JSON.stringify(proxyConfig) },
    { name: "ISTIO_META_POD_PORTS", value: JSON.stringify(appPorts(input.pod)) },
    { name: "ISTIO_META_APP_CONTAINERS", value: appContainersOf(input.pod).map((c) => c.name).join(",") },
    ...staticEnv.middle,
    { name: "ISTIO_META_WORKLOAD_NAME", value: workload.name },
    {
      name: "ISTIO_META_OWNER",
      value: `kubernetes://apis/${workload.apiVersion}/namespaces/${input.namespace}/${workload.kind.toLowerCase()}s/${workload.name}`,
    },
    ...staticEnv.tail,
    ...(probers ? [{ name: "ISTIO_KUBE_APP_PROBERS", value: probers }] : []),
    ...(scrape ? [{ name: "ISTIO_PROMETHEUS_ANNOTATIONS", value: JSON.stringify(scrape) }] : []),
  ];
  const userMounts = Object.entries(input.overrides.userVolumeMounts ?? {}).map(([volume, mount]) => ({ ...mount, name: volume }));
  if (userMounts.length > 0) rest.volumeMounts = [...(rest.volumeMounts as unknown[]), ...userMounts];
  return { name, image, imagePullPolicy, args, env, ...rest };
}

function canonicalLabels(pod: Pod, workload: WorkloadRef): StringMap {
  const labels = pod.metadata.labels;
  return {
    [Label.TlsMode]: "istio",
    [Label.CanonicalName]: lookup(labels, Label.AppName) ?? lookup(labels, Label.App) ?? workload.name,
    [Label.CanonicalRevision]: lookup(labels, Label.AppVersion) ?? lookup(labels, Label.Version) ?? "latest",
  };
}

/** Render the sidecar for one pod (already decided "inject", overrides already validated). */
export function renderSidecar(t: InjectionTemplate, input: RenderInput): RenderedSidecar {
  const workload = input.workload ?? workloadOf(input.pod);
  const init = renderInit(t, input.overrides);
  const holdSetting = input.overrides.proxyConfig?.holdApplicationUntilProxyStarts;
  const hold = !input.native && (typeof holdSetting === "boolean" ? holdSetting : t.config.holdApplicationUntilProxyStarts);
  const scrape = prometheusScrape(t, input.pod, input.overrides);
  const probes = (input.overrides.rewriteAppProbers ?? t.config.rewriteAppProbers) ? rewriteAppProbes(appContainersOf(input.pod)) : null;
  const rendered = renderProxy(t, input, workload, hold, scrape, probes?.probers ?? null);
  const proxy = input.userProxy ? mergeProxy(rendered, input.userProxy) : rendered;
  const pullSecrets = t.config.sidecar.imagePullSecrets;
  const firstApp = input.pod.spec.containers.find((c) => c.name !== ContainerName.Proxy)?.name;
  const userVolumes: Volume[] = Object.entries(input.overrides.userVolumes ?? {}).map(([name, source]) => ({ ...source, name }));
  const buildStatus = (): SidecarStatus => ({
    initContainers: input.native ? [init.name, proxy.name] : [init.name],
    containers: input.native ? [] : [proxy.name],
    // User volumes are listed too, so a later re-injection replaces them instead of duplicating.
    volumes: [...t.volumes, ...userVolumes].map((v) => v.name),
    imagePullSecrets: pullSecrets.length > 0 ? [...pullSecrets] : null,
    revision: t.config.revision,
    templateHash: t.hash,
  });
  return {
    native: input.native,
    init,
    proxy,
    volumes: userVolumes.length === 0 ? t.volumes : [...t.volumes, ...userVolumes], // template volumes are frozen: safe to share
    labels: canonicalLabels(input.pod, workload),
    annotations: {
      ...(firstApp !== undefined && { [Annotation.DefaultContainer]: firstApp, [Annotation.DefaultLogsContainer]: firstApp }),
      ...(input.userProxy && { [Annotation.ProxyOverrides]: JSON.stringify(input.userProxy) }),
    },
    // The revision as an annotation on every injected pod, as Istio's template writes it (it
    // replaces the pod's own; a label would clash with revision tags).
    overwriteAnnotations: {
      [Label.Revision]: t.config.revision || "default",
      ...(scrape && {
        [Annotation.PrometheusScrape]: "true",
        [Annotation.PrometheusPort]: String(ProxyPort.AgentStatus),
        [Annotation.PrometheusPath]: "/stats/prometheus",
      }),
    },
    holdApplication: hold,
    ...(probes?.probers && { appContainers: probes.containers }),
    imagePullSecrets: pullSecrets,
    status: userVolumes.length === 0 ? memoized(t, `status\u0000${input.native}`, buildStatus) : buildStatus(),
  };
}
