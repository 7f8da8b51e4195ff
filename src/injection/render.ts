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
  type PodInterceptionMode,
  ProxyPort,
  VolumeName,
  mountOf,
  type Resources,
} from "../config/config.js";
import { deepFreeze, isObject, withProps } from "../json-values.js";
import { remember } from "../memo.js";
import { quote, withJsonText } from "./patch.js";
import { type PodOverrides, resourcesFromAnnotations } from "./annotations.js";
import { type ProbeFields, rewriteAppProbes } from "./app-probe.js";
import { addsMultusNetwork, withMultusNetwork } from "./multus.js";
import { OTEL_RESOURCE_ATTRIBUTES, otelResourceAttributes } from "./otel.js";
import { PROMETHEUS_ENV, parseGoBool, prometheusMerge } from "./prometheus.js";
import { NO_OVERRIDES, type UserOverrides, mergeContainer } from "./proxy-overrides.js";
import { BuiltinTemplate, GRPC_AGENT_APPS, type OverlayTemplate, PROXY_TEMPLATES, type ProxyTemplate } from "./templates.js";
import { type Container, type ContainerPort, type Pod, type StringMap, type Volume, lookup } from "./pod.js";
import type { SidecarStatus } from "./status.js";
import type { InjectionTemplate } from "./template.js";
import { type WorkloadRef, workloadOf } from "./workload.js";

export interface RenderedSidecar {
  /** Whether the proxy is a native sidecar (an init container with restartPolicy: Always). */
  readonly native: boolean;
  /** The traffic-capture init container; null when the pod asks for no capture (interceptionMode NONE). */
  readonly init: Container | null;
  /** The proxy; null when no template of the pod's renders one (e.g. grpc-simple alone). */
  readonly proxy: Container | null;
  readonly volumes: readonly Volume[];
  /** Labels to add where the pod does not set them already. */
  readonly labels: StringMap;
  /** Annotations to add where the pod does not set them already. */
  readonly annotations: StringMap;
  /** Annotations to set even where the pod sets them (the revision, the Prometheus merge). */
  readonly overwriteAnnotations: StringMap;
  /** The pod's annotations to remove first (every spelling of the app's Prometheus keys). */
  readonly clearAnnotations: readonly string[];
  /** Classic mode with holdApplicationUntilProxyStarts: the proxy goes first and the app waits. */
  readonly holdApplication: boolean;
  /** Container name → its rewritten probe fields, when any probe was rewritten (see app-probe.ts). */
  readonly appProbes?: ReadonlyMap<string, ProbeFields>;
  readonly imagePullSecrets: readonly string[];
  readonly status: SidecarStatus;
  /** Fields merged into the pod's securityContext (the gateway template's sysctl). */
  readonly podSecurityContext?: Readonly<Record<string, unknown>>;
  /** Overlay templates applied after the proxy, in order. */
  readonly overlays: readonly OverlayTemplate[];
  /** The user's own istio-init and istio-proxy merged into ours, in the template's order (for proxy.istio.io/overrides). */
  readonly userOverrides: UserOverrides;
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
  /** The user's own istio-init fields, merged over the rendered init container. */
  readonly userInit?: Readonly<Record<string, unknown>> | null;
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
  return (memo.get(key) as T | undefined) ?? (remember(memo, key, deepFreeze(build()), MEMO_LIMIT) as T);
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
 * Istio's excludeInboundPort: the agent's status port is added to the user's excluded inbound
 * ports unless listed already (a status port of 0 or "" adds nothing).
 */
function withStatusPort(statusPort: string, excluded: string): string {
  const port = statusPort.trim();
  if (port === "" || port === "0") return excluded;
  const out: string[] = [];
  for (const p of excluded.split(",")) {
    if (p === port) return excluded;
    if (p.trim() !== "") out.push(p.trim());
  }
  return [...out, port].join(",");
}

/** istio-iptables -d: Envoy's Prometheus and health ports, then the user's list with the status port. */
export function excludedInboundPorts(statusPort: string, userList: string): string {
  const rest = withStatusPort(statusPort, userList);
  const fixed = `${ProxyPort.EnvoyPrometheus},${ProxyPort.Health}`;
  return rest === "" ? fixed : `${fixed},${rest}`;
}

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

function resourceEnv(name: string, resource: string): Record<string, unknown> {
  return { name, valueFrom: { resourceFieldRef: { divisor: "1", resource } } };
}

/** The app's containers: all but a user-declared istio-proxy (which overrides the sidecar). */
function appContainersOf(pod: Pod): Container[] {
  return pod.spec.containers.filter((c) => c.name !== ContainerName.Proxy);
}

/** The containers whose probes and hooks the agent takes over: the app's init containers, then its containers. */
function probedContainersOf(pod: Pod): Container[] {
  const init = pod.spec.initContainers;
  const apps = appContainersOf(pod);
  return !Array.isArray(init) || init.length === 0 ? apps : [...init.filter((c) => c.name !== ContainerName.Proxy), ...apps];
}

function appPorts(pod: Pod): ContainerPort[] {
  const out: ContainerPort[] = [];
  for (const c of pod.spec.containers) {
    if (c.name === ContainerName.Proxy || !c.ports) continue;
    for (const p of c.ports) out.push(p);
  }
  return out;
}

/** Memo key for values shaped by the template and the pod's overrides (a constant for most pods). */
function keyOf(prefix: string, o: PodOverrides): string {
  return isEmpty(o) ? prefix : `${prefix}\u0000${JSON.stringify(o)}`;
}

export function interceptionOf(t: InjectionTemplate, o: PodOverrides): PodInterceptionMode {
  return o.interceptionMode ?? t.config.sidecar.interceptionMode;
}

/** The agent's status port for this pod, as text (the annotation, else the configured one, 15020 by default). */
function statusPortOf(t: InjectionTemplate, o: PodOverrides): string {
  return String(o.statusPort ?? t.config.sidecar.statusPort);
}

/** The traffic-capture init container, or null when the pod asks for no capture (NONE). */
function renderInit(t: InjectionTemplate, o: PodOverrides): Container | null {
  if (interceptionOf(t, o) === "NONE") return null;
  return memoized(t, keyOf("init", o), () => buildInit(t, o));
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
    interceptionOf(t, o),
    "-i",
    o.includeOutboundIPRanges ?? s.includeOutboundIPRanges,
    "-x",
    o.excludeOutboundIPRanges ?? s.excludeOutboundIPRanges,
    "-b",
    o.includeInboundPorts ?? s.includeInboundPorts,
    "-d",
    excludedInboundPorts(statusPortOf(t, o), o.excludeInboundPorts ?? s.excludeInboundPorts),
  ];
  const includeOut = o.includeOutboundPorts ?? s.includeOutboundPorts;
  if (o.includeOutboundPorts !== undefined || includeOut !== "") args.push("-q", includeOut);
  const excludeOut = o.excludeOutboundPorts ?? s.excludeOutboundPorts;
  if (o.excludeOutboundPorts !== undefined || excludeOut !== "") args.push("-o", excludeOut);
  if (o.rerouteInterfaces !== undefined) args.push("-k", o.rerouteInterfaces);
  if (o.excludeInterfaces !== undefined) args.push("-c", o.excludeInterfaces);
  args.push(`--log_output_level=${o.agentLogLevel ?? s.agentLogLevel}`);
  // As Istio: an image named by the proxyImage annotation runs the init container too.
  const image = o.proxyImage ?? s.initImage;
  // As Istio: resource annotations size the init container too; else its own configured resources.
  const resources = resourcesJson(resourcesFromAnnotations(o) ?? s.initResources);
  if (t.config.cni) {
    // CNI mode: the CNI plugin installs the rules; this container only checks them, unprivileged,
    // so namespaces enforcing the baseline or restricted Pod Security Standard admit the pod.
    return {
      name: ContainerName.Validation,
      image,
      ...pullPolicyOf(s),
      args: [...args, "--run-validation", "--skip-rule-apply"],
      resources,
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
  // As Istio's template: the proxy's metadata is istio-init's env too.
  const env = metadataEnvOf(t, o);
  return {
    name: ContainerName.Init,
    image,
    ...pullPolicyOf(s),
    args,
    ...(env.length > 0 && { env }),
    resources,
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

/** The proxy's first fields; the pull policy is absent when the configuration leaves it to the kubelet. */
type ProxyHead = Pick<Container, "name" | "image" | "args"> & { readonly imagePullPolicy?: string };

/** The pull policy field, absent when the configuration leaves it to the kubelet (null, as Istio's chart default ""). */
function pullPolicyOf(s: InjectionTemplate["config"]["sidecar"]): { imagePullPolicy?: string } {
  return s.imagePullPolicy === null ? {} : { imagePullPolicy: s.imagePullPolicy };
}

/**
 * The proxy container's first fields, shared by the sidecar, gateway and grpc-agent templates:
 * its name, image and pull policy, and pilot-agent's arguments (`proxy sidecar`, or `proxy router`
 * for a gateway).
 */
function proxyHead(t: InjectionTemplate, o: PodOverrides, role: "sidecar" | "router"): ProxyHead {
  const s = t.config.sidecar;
  return {
    name: ContainerName.Proxy,
    image: o.proxyImage ?? s.image,
    ...pullPolicyOf(s),
    args: [
      "proxy",
      role,
      "--domain",
      `$(POD_NAMESPACE).svc.${s.clusterDomain}`,
      `--proxyLogLevel=${o.logLevel ?? s.logLevel}`,
      `--proxyComponentLogLevel=${o.componentLogLevel ?? s.componentLogLevel}`,
      `--log_output_level=${o.agentLogLevel ?? s.agentLogLevel}`,
    ],
  };
}

function healthProbe(periodSeconds: number, failureThreshold: number, initialDelaySeconds = 0): Record<string, unknown> {
  return {
    httpGet: { path: "/healthz/ready", port: ProxyPort.Health },
    initialDelaySeconds,
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  };
}

/** The parts of the proxy container that do not depend on the pod itself (memoized, frozen). */
function proxyBase(t: InjectionTemplate, o: PodOverrides, native: boolean, hold: boolean): ProxyLayout {
  return memoized(t, keyOf(`proxy\u0000${native}\u0000${hold}`, o), () => layoutOf(buildProxyBase(t, o, native, hold), o));
}

interface StaticEnv {
  readonly head: ReadonlyArray<Record<string, unknown>>;
  readonly middle: ReadonlyArray<Record<string, unknown>>;
  readonly tail: ReadonlyArray<Record<string, unknown>>;
}

/**
 * The sidecar proxy as the configuration and the pod's overrides shape it: its fields in Istio's
 * order around the env, the env that does not depend on the pod, and the container's JSON text
 * cut where the pod's own env goes (before the pod env, between it and the workload env, before
 * the late env, after it), so a pod's proxy is serialized by splicing, not by walking it.
 */
interface ProxyLayout {
  readonly head: ProxyHead;
  readonly rest: Readonly<Record<string, unknown>>;
  readonly staticEnv: StaticEnv;
  readonly text: readonly [string, string, string, string];
}

/** Stand-ins for the pod's env in the serialized layout (a name no env var can have). */
const POD_ENV_MARK = { name: "\u0000pod env" };
const WORKLOAD_ENV_MARK = { name: "\u0000workload env" };
const LATE_ENV_MARK = { name: "\u0000late env" };

function layoutOf(base: Omit<Container, "env"> & { staticEnv: StaticEnv }, o: PodOverrides): ProxyLayout {
  const { staticEnv, name, image, imagePullPolicy, args, ...rest } = base as Container & { staticEnv: StaticEnv };
  const userMounts = userMountsOf(o);
  if (userMounts.length > 0) rest.volumeMounts = [...(rest.volumeMounts as unknown[]), ...userMounts];
  const head: ProxyHead = { name, image, ...(imagePullPolicy !== undefined && { imagePullPolicy: String(imagePullPolicy) }), args };
  const env = [...staticEnv.head, POD_ENV_MARK, ...staticEnv.middle, WORKLOAD_ENV_MARK, ...staticEnv.tail, LATE_ENV_MARK];
  const whole = JSON.stringify({ ...head, env, ...rest });
  const [before, afterPod] = splitOnce(whole, JSON.stringify(POD_ENV_MARK));
  const [between, afterWorkload] = splitOnce(afterPod, JSON.stringify(WORKLOAD_ENV_MARK));
  const [beforeLate, after] = splitOnce(afterWorkload, `,${JSON.stringify(LATE_ENV_MARK)}`);
  return { head, rest, staticEnv, text: [before, between, beforeLate, after] };
}

function splitOnce(text: string, mark: string): [string, string] {
  const at = text.indexOf(mark);
  if (at < 0 || text.indexOf(mark, at + 1) >= 0) throw new Error(`proxy layout: ${JSON.stringify(mark)} must occur once`);
  return [text.slice(0, at), text.slice(at + mark.length)];
}

function buildProxyBase(t: InjectionTemplate, o: PodOverrides, native: boolean, hold: boolean): Omit<Container, "env"> & { staticEnv: StaticEnv } {
  const s = t.config.sidecar;
  const mode = interceptionOf(t, o);
  const tproxy = mode === "TPROXY";
  const statusPort = statusPortOf(t, o);
  const proxy: Omit<Container, "env"> & { staticEnv: StaticEnv } = {
    ...proxyHead(t, o, "sidecar"),
    staticEnv: {
      head: [
        // As Istio's template, first: the agent sends the rewritten probes to localhost.
        ...(s.inboundTrafficPolicy === "LOCALHOST" ? [{ name: "REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION", value: "true" }] : []),
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
        // Where istiod writes it: after the template's env.
        ...(s.network !== "" ? [{ name: "ISTIO_META_NETWORK", value: s.network }] : []),
      ],
    },
    // As Istio 1.30: only Envoy's Prometheus port is declared (the probes name 15021 by number).
    ports: [{ containerPort: ProxyPort.EnvoyPrometheus, name: "http-envoy-prom", protocol: "TCP" }],
    // A status port of 0 turns the proxy's probes off (as Istio).
    ...(statusPort !== "0" && {
      readinessProbe: healthProbe(o.readinessPeriodSeconds ?? t.config.sidecar.readinessPeriodSeconds, o.readinessFailureThreshold ?? t.config.sidecar.readinessFailureThreshold, o.readinessInitialDelaySeconds ?? t.config.sidecar.readinessInitialDelaySeconds),
      startupProbe: healthProbe(1, 600),
    }),
    resources: resourcesJson(resourcesFromAnnotations(o) ?? s.resources),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: tproxy ? { add: ["NET_ADMIN"], drop: ["ALL"] } : { drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: PROXY_UID,
      runAsNonRoot: !tproxy,
      runAsUser: tproxy ? 0 : PROXY_UID,
    },
    // As Istio's template: the certificates go just before the pod info.
    volumeMounts: s.mountMtlsCerts
      ? SIDECAR_MOUNTS.flatMap((v) => (v === VolumeName.PodInfo ? [MTLS_CERTS_MOUNT, mountOf(v)] : [mountOf(v)]))
      : SIDECAR_MOUNTS.map(mountOf),
  };
  if (native) {
    // A restartable init container: starts before the app's init containers, lives as long as the
    // pod, and lets Jobs complete (its startup probe holds the app until it is ready). On
    // shutdown it drains Envoy's listeners first.
    proxy.restartPolicy = "Always";
    proxy.lifecycle = {
      preStop: { exec: { command: ["pilot-agent", "request", `--debug-port=${statusPort}`, "POST", "drain"] } },
    };
  } else if (hold) {
    // The kubelet starts containers in order and runs postStart before the next one: the app
    // starts only once pilot-agent reports the proxy ready.
    proxy.lifecycle = { postStart: { exec: { command: ["pilot-agent", "wait"] } } };
  }
  return proxy;
}

type EnvVar = Record<string, unknown>;

/** `{"name":<name>,"value":` per env var name: the per-pod names are a handful of constants. */
const envHeads = new Map<string, string>();

function envHead(name: string): string {
  return envHeads.get(name) ?? remember(envHeads, name, `{"name":${quote(name)},"value":`, 64);
}

/** JSON text of env vars (name and value strings), each preceded by a comma when `lead`. */
function envText(vars: readonly EnvVar[], lead: boolean): string {
  let out = "";
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i] as EnvVar;
    out += `${lead || i > 0 ? "," : ""}${envHead(v.name as string)}${quote(v.value as string)}}`;
  }
  return out;
}

function renderProxy(
  t: InjectionTemplate,
  input: RenderInput,
  native: boolean,
  workload: WorkloadRef,
  hold: boolean,
  prometheusEnv: string | null,
  probers: string | null,
): Container {
  const layout = proxyBase(t, input.overrides, native, hold);
  const { staticEnv, head, rest, text } = layout;
  const pod = podEnv(t, input, workload);
  const own = [pod.proxyConfig, pod.ports, pod.apps];
  const late = [...otelEnvOf(t, input), ...lateEnv(metadataEnvOf(t, input.overrides), prometheusEnv, probers)];
  const env = [...staticEnv.head, ...own, ...staticEnv.middle, ...pod.workload, ...staticEnv.tail, ...late];
  // Field order as Istio renders it: name, image, pull policy, args, env, then the rest (built up
  // from a literal, not spread from `head`: see withProps in json-values.ts).
  const proxy: Container = Object.assign(
    head.imagePullPolicy === undefined
      ? { name: head.name, image: head.image, args: head.args, env }
      : { name: head.name, image: head.image, imagePullPolicy: head.imagePullPolicy, args: head.args, env },
    rest,
  );
  return withJsonText(proxy, text[0] + envText(own, false) + text[1] + envText(pod.workload, false) + text[2] + envText(late, true) + text[3]);
}

function userMountsOf(o: PodOverrides): Array<Record<string, unknown>> {
  return Object.entries(o.userVolumeMounts ?? {}).map(([volume, mount]) => ({ ...mount, name: volume }));
}

/** otelSemanticConventions: OTEL_RESOURCE_ATTRIBUTES, where Istio's template puts it (after TRUST_DOMAIN, before proxyMetadata). */
function otelEnvOf(t: InjectionTemplate, input: RenderInput): EnvVar[] {
  if (!t.config.otelSemanticConventions) return [];
  const value = otelResourceAttributes(input.pod, input.namespace);
  return value === "" ? [] : [{ name: OTEL_RESOURCE_ATTRIBUTES, value }];
}

/** Env set after rendering, as Istio: the Prometheus merge runs before probe rewriting. */
function lateEnv(metadata: readonly EnvVar[], prometheusEnv: string | null, probers: string | null): EnvVar[] {
  return [
    ...metadata,
    ...(prometheusEnv !== null ? [{ name: PROMETHEUS_ENV, value: prometheusEnv }] : []),
    ...(probers ? [{ name: "ISTIO_KUBE_APP_PROBERS", value: probers }] : []),
  ];
}

type StringRecord = Readonly<Record<string, string>>;

/** ProxyConfig.proxyMetadata: the configured one (mesh defaultConfig), the pod's keys over it. */
function proxyMetadataOf(t: InjectionTemplate, o: PodOverrides): StringRecord | undefined {
  const mesh = t.config.sidecar.proxyConfig.proxyMetadata as StringRecord | undefined;
  const pod = o.proxyConfig?.proxyMetadata as StringRecord | undefined;
  if (pod === undefined || typeof pod !== "object" || pod === null) return mesh;
  return mesh === undefined ? pod : withProps(mesh, pod);
}

/** proxyMetadata as env, keys sorted (as Istio's template ranges over the map), before the env added after rendering. */
function metadataEnvOf(t: InjectionTemplate, o: PodOverrides): EnvVar[] {
  const metadata = proxyMetadataOf(t, o);
  if (metadata === undefined) return [];
  return Object.keys(metadata)
    .sort()
    .map((name) => ({ name, value: String(metadata[name]) }));
}

/** The proxy env that depends on the pod itself. */
function podEnv(t: InjectionTemplate, input: RenderInput, workload: WorkloadRef): { proxyConfig: EnvVar; ports: EnvVar; apps: EnvVar; workload: EnvVar[] } {
  // The configured ProxyConfig (mesh defaultConfig) with the pod's over it; proxyMetadata merged by key.
  const metadata = proxyMetadataOf(t, input.overrides);
  const proxyConfig = withProps<Record<string, unknown>>(
    { discoveryAddress: t.config.sidecar.discoveryAddress },
    t.config.sidecar.proxyConfig,
    input.overrides.proxyConfig,
    metadata === undefined ? undefined : { proxyMetadata: metadata },
  );
  const workloadName = lookup(input.pod.metadata.labels, Label.WorkloadName) ?? workload.name;
  return {
    proxyConfig: { name: "PROXY_CONFIG", value: JSON.stringify(proxyConfig) },
    ports: { name: "ISTIO_META_POD_PORTS", value: JSON.stringify(appPorts(input.pod)) },
    apps: { name: "ISTIO_META_APP_CONTAINERS", value: appContainersOf(input.pod).map((c) => c.name).join(",") },
    workload: [
      { name: "ISTIO_META_WORKLOAD_NAME", value: workloadName },
      {
        name: "ISTIO_META_OWNER",
        value: `kubernetes://apis/${workload.apiVersion}/namespaces/${input.namespace}/${workload.kind.toLowerCase()}s/${workload.name}`,
      },
    ],
  };
}

// The proxy's mounts per template, in Istio's order.
const SIDECAR_MOUNTS = [
  VolumeName.WorkloadSocket,
  VolumeName.CredentialSocket,
  VolumeName.WorkloadCerts,
  VolumeName.IstiodCA,
  VolumeName.CaCrl,
  VolumeName.Data,
  VolumeName.Envoy,
  VolumeName.Token,
  VolumeName.PodInfo,
];
/** global.mountMtlsCerts: the old istio.<service account> Secret, mounted for apps that read certificates from files. */
const MTLS_CERTS_VOLUME = "istio-certs";
const MTLS_CERTS_MOUNT = { mountPath: "/etc/certs/", name: MTLS_CERTS_VOLUME, readOnly: true };

function mtlsCertsVolume(pod: Pod): Volume {
  const account = typeof pod.spec.serviceAccountName === "string" && pod.spec.serviceAccountName !== "" ? pod.spec.serviceAccountName : "default";
  return { name: MTLS_CERTS_VOLUME, secret: { optional: true, secretName: `istio.${account}` } };
}

const GATEWAY_MOUNTS = SIDECAR_MOUNTS.filter((v) => v !== VolumeName.CaCrl);
const GRPC_AGENT_MOUNTS = [
  VolumeName.WorkloadSocket,
  VolumeName.WorkloadCerts,
  VolumeName.IstiodCA,
  VolumeName.Data,
  VolumeName.Xds,
  VolumeName.Token,
  VolumeName.PodInfo,
];

/**
 * The gateway template's proxy (Istio's gateway-injection-template): `proxy router`, no traffic
 * capture, no startup probe, resources and the rest from the pod's own istio-proxy container.
 */
function renderGatewayProxy(t: InjectionTemplate, input: RenderInput, workload: WorkloadRef, prometheusEnv: string | null, probers: string | null): Container {
  const s = t.config.sidecar;
  const o = input.overrides;
  const pod = podEnv(t, input, workload);
  const common = proxyBase(t, o, false, false).staticEnv;
  return {
    ...proxyHead(t, o, "router"),
    env: [
      ...common.head,
      pod.proxyConfig,
      pod.ports,
      resourceEnv("GOMEMLIMIT", "limits.memory"),
      resourceEnv("GOMAXPROCS", "limits.cpu"),
      pod.apps,
      { name: "ISTIO_META_CLUSTER_ID", value: s.clusterId },
      fieldEnv("ISTIO_META_NODE_NAME", "spec.nodeName"),
      { name: "ISTIO_META_INTERCEPTION_MODE", value: s.interceptionMode },
      ...pod.workload,
      ...common.tail,
      ...lateEnv(metadataEnvOf(t, input.overrides), prometheusEnv, probers),
    ],
    ports: [{ containerPort: ProxyPort.EnvoyPrometheus, name: "http-envoy-prom", protocol: "TCP" }],
    readinessProbe: healthProbe(o.readinessPeriodSeconds ?? t.config.sidecar.readinessPeriodSeconds, o.readinessFailureThreshold ?? t.config.sidecar.readinessFailureThreshold, o.readinessInitialDelaySeconds ?? t.config.sidecar.readinessInitialDelaySeconds),
    securityContext: { runAsGroup: PROXY_UID, runAsUser: PROXY_UID },
    volumeMounts: GATEWAY_MOUNTS.map(mountOf),
  };
}

/**
 * The grpc-agent template's proxy (Istio's grpc-agent): the agent alone (DISABLE_ENVOY), serving
 * xDS and certificates to a proxyless gRPC app over the istio-xds socket; the app starts once the
 * agent is ready.
 */
function renderGrpcAgent(t: InjectionTemplate, input: RenderInput, workload: WorkloadRef, prometheusEnv: string | null, probers: string | null): Container {
  const s = t.config.sidecar;
  const o = input.overrides;
  const pod = podEnv(t, input, workload);
  const statusPort = statusPortOf(t, o);
  const common = proxyBase(t, o, false, false).staticEnv;
  const head = common.head.filter((e) => e.name !== "ISTIO_CPU_LIMIT");
  return {
    ...proxyHead(t, o, "sidecar"),
    env: [
      { name: "ISTIO_META_GENERATOR", value: "grpc" },
      { name: "OUTPUT_CERTS", value: "/var/lib/istio/data" },
      ...head,
      pod.proxyConfig,
      pod.ports,
      pod.apps,
      { name: "ISTIO_META_CLUSTER_ID", value: s.clusterId },
      fieldEnv("ISTIO_META_NODE_NAME", "spec.nodeName"),
      ...pod.workload,
      ...common.tail,
      { name: "ISTIO_META_DNS_CAPTURE", value: "false" },
      { name: "DISABLE_ENVOY", value: "true" },
      ...lateEnv(metadataEnvOf(t, input.overrides), prometheusEnv, probers),
    ],
    ports: [{ containerPort: ProxyPort.AgentStatus, name: "mesh-metrics", protocol: "TCP" }],
    lifecycle: { postStart: { exec: { command: ["pilot-agent", "wait", `--url=http://localhost:${ProxyPort.AgentStatus}/healthz/ready`] } } },
    ...(statusPort !== "0" && {
      readinessProbe: {
        ...healthProbe(o.readinessPeriodSeconds ?? t.config.sidecar.readinessPeriodSeconds, o.readinessFailureThreshold ?? t.config.sidecar.readinessFailureThreshold, o.readinessInitialDelaySeconds ?? t.config.sidecar.readinessInitialDelaySeconds),
        httpGet: { path: "/healthz/ready", port: ProxyPort.AgentStatus },
      },
    }),
    resources: resourcesJson(resourcesFromAnnotations(o) ?? s.resources),
    volumeMounts: [...GRPC_AGENT_MOUNTS.map(mountOf), ...userMountsOf(o)],
  };
}

/** Istio's canonical name: at most 63 characters, without a trailing "-". */
function canonicalName(name: string): string {
  return name.slice(0, 63).replace(/-+$/, "");
}

function canonicalLabels(pod: Pod, workload: WorkloadRef, tlsMode: boolean, network: string): StringMap {
  const labels = pod.metadata.labels;
  const out: StringMap = {};
  if (tlsMode) out[Label.TlsMode] = "istio";
  if (network !== "") out[Label.Network] = network;
  out[Label.CanonicalName] = canonicalName(lookup(labels, Label.AppName) ?? lookup(labels, Label.App) ?? workload.name);
  out[Label.CanonicalRevision] = lookup(labels, Label.AppVersion) ?? lookup(labels, Label.Version) ?? "latest";
  return out;
}

/** A template's rewriteAppHTTPProbers annotation, read as Go reads booleans; undefined when absent or unreadable. */
function overlayRewriteSetting(o: OverlayTemplate): boolean | undefined {
  const value = o.metadata?.annotations?.[Annotation.RewriteAppProbers];
  return value === undefined ? undefined : parseGoBool(value);
}

/** The template names for a pod: its annotation, else the configured default. */
export function templatesOf(t: InjectionTemplate, o: PodOverrides): readonly string[] {
  return o.templates ?? t.config.defaultTemplates;
}

/** Render the sidecar for one pod (already decided "inject", overrides already validated). */
export function renderSidecar(t: InjectionTemplate, input: RenderInput): RenderedSidecar {
  const workload = input.workload ?? workloadOf(input.pod);
  const names = templatesOf(t, input.overrides);
  const proxyTemplate = (PROXY_TEMPLATES as readonly string[]).find((p) => names.includes(p)) as ProxyTemplate | undefined;
  const overlays = names.filter((n) => n !== proxyTemplate).flatMap((n) => t.overlays.get(n) ?? []);
  if (proxyTemplate === BuiltinTemplate.GrpcAgent) overlays.unshift(GRPC_AGENT_APPS);
  const sidecar = proxyTemplate === BuiltinTemplate.Sidecar;
  // Gateways and the gRPC agent run as regular containers, without traffic capture (as Istio's templates).
  const native = sidecar && input.native;
  let init = sidecar ? renderInit(t, input.overrides) : null;
  const holdSetting = input.overrides.proxyConfig?.holdApplicationUntilProxyStarts;
  const hold = sidecar && !native && (typeof holdSetting === "boolean" ? holdSetting : t.config.holdApplicationUntilProxyStarts);
  const merge = prometheusMerge(input.pod.metadata.annotations, input.overrides.prometheusMerge ?? t.config.prometheusMerge);
  // A template's own rewriteAppHTTPProbers annotation wins over the pod's (the grpc templates turn
  // rewriting off), as Istio merges template metadata before it rewrites probes.
  const templateRewrite = overlays.reduce<boolean | undefined>((v, o) => overlayRewriteSetting(o) ?? v, undefined);
  const rewrite = proxyTemplate !== undefined && (templateRewrite ?? input.overrides.rewriteAppProbers ?? t.config.rewriteAppProbers);
  const probes = rewrite ? rewriteAppProbes(probedContainersOf(input.pod)) : null;
  const prometheusEnv = proxyTemplate === undefined ? null : (merge?.env ?? null);
  const probers = probes?.probers ?? null;
  let rendered: Container | null = null;
  if (proxyTemplate === BuiltinTemplate.Sidecar) rendered = renderProxy(t, input, native, workload, hold, prometheusEnv, probers);
  else if (proxyTemplate === BuiltinTemplate.Gateway) rendered = renderGatewayProxy(t, input, workload, prometheusEnv, probers);
  else if (proxyTemplate === BuiltinTemplate.GrpcAgent) rendered = renderGrpcAgent(t, input, workload, prometheusEnv, probers);
  let proxy = rendered && input.userProxy ? mergeContainer(rendered, input.userProxy) : rendered;
  // The user's istio-init counts only where ours is istio-init (not the CNI's validation container).
  const userInit = init?.name === ContainerName.Init ? (input.userInit ?? null) : null;
  if (init !== null && userInit !== null) init = mergeContainer(init, userInit);
  const runAs = sidecar && input.userProxy ? userRunAs(input.userProxy) : null;
  if (runAs !== null) ({ init, proxy } = adjustForUserRunAs(init, proxy, runAs, interceptionOf(t, input.overrides) === "TPROXY"));
  const pullSecrets = t.config.sidecar.imagePullSecrets;
  const firstApp = input.pod.spec.containers.find((c) => c.name !== ContainerName.Proxy)?.name;
  const userVolumes: Volume[] =
    proxyTemplate === undefined || proxyTemplate === BuiltinTemplate.Gateway
      ? []
      : Object.entries(input.overrides.userVolumes ?? {}).map(([name, source]) => ({ ...source, name }));
  // The mTLS certificates volume (sidecar template, global.mountMtlsCerts) names the pod's account: per pod, like user volumes.
  if (sidecar && t.config.sidecar.mountMtlsCerts) userVolumes.unshift(mtlsCertsVolume(input.pod));
  const baseVolumes = proxyTemplate === undefined ? [] : t.volumesFor[proxyTemplate];
  const buildStatus = (): SidecarStatus => ({
    initContainers: [...(init ? [init.name] : []), ...(native && proxy ? [proxy.name] : [])],
    containers: !native && proxy ? [proxy.name] : [],
    // User volumes are listed too, so a later re-injection replaces them instead of duplicating.
    volumes: [...baseVolumes, ...userVolumes].map((v) => v.name),
    imagePullSecrets: pullSecrets.length > 0 ? [...pullSecrets] : null,
    revision: t.config.revision,
    templateHash: t.hash,
  });
  const plain = sidecar && userVolumes.length === 0 && init !== null;
  // Maps and the result are built up from literals, not from spreads (see withProps in json-values.ts).
  const annotations: StringMap = {};
  if (proxyTemplate !== undefined && firstApp !== undefined) {
    annotations[Annotation.DefaultContainer] = firstApp;
    annotations[Annotation.DefaultLogsContainer] = firstApp;
  }
  // The revision as an annotation on every injected pod, as Istio's template writes it (it
  // replaces the pod's own; a label would clash with revision tags).
  const overwriteAnnotations: StringMap = {};
  if (proxyTemplate !== undefined) overwriteAnnotations[Label.Revision] = t.config.revision || "default";
  if (merge !== null) for (const k of Object.keys(merge.set)) overwriteAnnotations[k] = merge.set[k] as string;
  // In the order of the template's containers, as istiod records them (written by injectPod).
  const userProxy = proxy && input.userProxy ? { ...input.userProxy, name: ContainerName.Proxy } : null;
  const userOverrides: UserOverrides =
    userProxy === null && userInit === null
      ? NO_OVERRIDES
      : {
          containers: userProxy !== null && !native ? [userProxy] : [],
          initContainers: [...(userInit !== null ? [{ ...userInit, name: ContainerName.Init }] : []), ...(userProxy !== null && native ? [userProxy] : [])],
        };
  if (sidecar && t.config.cni) Object.assign(overwriteAnnotations, cniAnnotations(t, input.overrides));
  if (sidecar && addsMultusNetwork(t.config)) {
    overwriteAnnotations[Annotation.MultusNetworks] = withMultusNetwork(lookup(input.pod.metadata.annotations, Annotation.MultusNetworks)).value;
  }
  const out: { -readonly [K in keyof RenderedSidecar]: RenderedSidecar[K] } = {
    native,
    init,
    proxy,
    volumes: userVolumes.length === 0 ? baseVolumes : [...baseVolumes, ...userVolumes], // template volumes are frozen: safe to share
    labels: proxyTemplate === undefined ? {} : canonicalLabels(input.pod, workload, sidecar, t.config.sidecar.network),
    annotations,
    overwriteAnnotations,
    clearAnnotations: merge?.clear ?? [],
    holdApplication: hold,
    imagePullSecrets: pullSecrets,
    overlays,
    userOverrides,
    status: plain ? memoized(t, `status\u0000${native}`, buildStatus) : buildStatus(),
  };
  if (probes?.probers) out.appProbes = probes.probes;
  if (proxyTemplate === BuiltinTemplate.Gateway) out.podSecurityContext = GATEWAY_POD_SECURITY;
  return out;
}

/**
 * CNI mode: the capture settings the CNI plugin reads from the pod, as Istio's template writes them
 * (the pod's annotation, else the configured value; the status port added to the excluded inbound
 * ports; IP ranges only when not empty, outbound ports only when set).
 */
function cniAnnotations(t: InjectionTemplate, o: PodOverrides): StringMap {
  const s = t.config.sidecar;
  const out: StringMap = { [Annotation.InterceptionMode]: interceptionOf(t, o) };
  const includeIPs = o.includeOutboundIPRanges ?? s.includeOutboundIPRanges;
  if (includeIPs !== "") out[Annotation.IncludeOutboundIPRanges] = includeIPs;
  const excludeIPs = o.excludeOutboundIPRanges ?? s.excludeOutboundIPRanges;
  if (excludeIPs !== "") out[Annotation.ExcludeOutboundIPRanges] = excludeIPs;
  out[Annotation.IncludeInboundPorts] = o.includeInboundPorts ?? s.includeInboundPorts;
  out[Annotation.ExcludeInboundPorts] = withStatusPort(statusPortOf(t, o), o.excludeInboundPorts ?? s.excludeInboundPorts);
  if (o.includeOutboundPorts !== undefined || s.includeOutboundPorts !== "") out[Annotation.IncludeOutboundPorts] = o.includeOutboundPorts ?? s.includeOutboundPorts;
  if (o.excludeOutboundPorts !== undefined || s.excludeOutboundPorts !== "") out[Annotation.ExcludeOutboundPorts] = o.excludeOutboundPorts ?? s.excludeOutboundPorts;
  return out;
}

interface RunAs {
  readonly user?: number;
  readonly group?: number;
}

/** The runAsUser/runAsGroup of the user's own istio-proxy, or null when it sets neither. */
function userRunAs(userProxy: Readonly<Record<string, unknown>>): RunAs | null {
  const sc = userProxy.securityContext;
  if (!isObject(sc)) return null;
  const user = typeof sc.runAsUser === "number" ? sc.runAsUser : undefined;
  const group = typeof sc.runAsGroup === "number" ? sc.runAsGroup : undefined;
  if (user === undefined && group === undefined) return null;
  return { ...(user !== undefined && { user }), ...(group !== undefined && { group }) };
}

/**
 * As istiod, when the user's istio-proxy sets its own user or group: traffic capture must exempt
 * that user, so istio-init's `-u` names it (unless it is 0, which iptables' owner match cannot
 * take); the CNI validation container runs as it; and with TPROXY the proxy stays root (runAsUser 0),
 * whatever the user asked. Copies; the rendered containers are shared.
 */
function adjustForUserRunAs(init: Container | null, proxy: Container | null, runAs: RunAs, tproxy: boolean): { init: Container | null; proxy: Container | null } {
  let outProxy = proxy;
  if (tproxy && runAs.user !== undefined && proxy !== null) {
    outProxy = withProps(proxy, { securityContext: withProps(isObject(proxy.securityContext) ? proxy.securityContext : {}, { runAsUser: 0 }) });
  }
  if (init === null) return { init, proxy: outProxy };
  let outInit = init;
  if (!tproxy && init.name === ContainerName.Validation) {
    const sc = withProps(isObject(init.securityContext) ? init.securityContext : {}, {
      ...(runAs.user !== undefined && { runAsUser: runAs.user }),
      ...(runAs.group !== undefined && { runAsGroup: runAs.group }),
    });
    outInit = withProps(outInit, { securityContext: sc });
  }
  const args = outInit.args;
  if (runAs.user !== undefined && runAs.user !== 0 && Array.isArray(args)) {
    const at = args.indexOf("-u");
    if (at >= 0 && at + 1 < args.length) outInit = withProps(outInit, { args: args.map((a, i) => (i === at + 1 ? String(runAs.user) : a)) });
  }
  return { init: outInit, proxy: outProxy };
}

/** Gateways bind ports below 1024 without privileges (Istio's gateway template default). */
const GATEWAY_POD_SECURITY = { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] };
