/**
 * The injector's configuration type, its embedded defaults and every well-known name (annotation and
 * label keys, container and volume names). Nothing else in the code spells these strings.
 *
 * Defaults follow Istio's sidecar injection template so that a real istiod can drive the injected proxy.
 */

/** Pod annotations read or written by the injector. */
export const Annotation = {
  /** Legacy per-pod opt-in/out; the label of the same name wins over it. */
  Inject: "sidecar.istio.io/inject",
  /** JSON record of what was injected, with exactly Istio's keys. */
  Status: "sidecar.istio.io/status",
  /** Hash of the configuration and render code that shaped the sidecar (stale-pod detection). */
  TemplateHash: "sidecar-injector.io/template-hash",
  ProxyImage: "sidecar.istio.io/proxyImage",
  ProxyCPU: "sidecar.istio.io/proxyCPU",
  ProxyMemory: "sidecar.istio.io/proxyMemory",
  ProxyCPULimit: "sidecar.istio.io/proxyCPULimit",
  ProxyMemoryLimit: "sidecar.istio.io/proxyMemoryLimit",
  LogLevel: "sidecar.istio.io/logLevel",
  ComponentLogLevel: "sidecar.istio.io/componentLogLevel",
  AgentLogLevel: "sidecar.istio.io/agentLogLevel",
  InterceptionMode: "sidecar.istio.io/interceptionMode",
  /** The agent's status port (excluded from capture, the drain's debug port); 0 turns the proxy's probes off. */
  StatusPort: "status.sidecar.istio.io/port",
  ReadinessInitialDelaySeconds: "readiness.status.sidecar.istio.io/initialDelaySeconds",
  ReadinessPeriodSeconds: "readiness.status.sidecar.istio.io/periodSeconds",
  ReadinessFailureThreshold: "readiness.status.sidecar.istio.io/failureThreshold",
  /** Interfaces left out of traffic capture (istio-iptables -c). */
  ExcludeInterfaces: "traffic.sidecar.istio.io/excludeInterfaces",
  /** Older name of RerouteVirtualInterfaces (istio-iptables -k). */
  KubevirtInterfaces: "traffic.sidecar.istio.io/kubevirtInterfaces",
  /** Interfaces (e.g. a KubeVirt VM's) whose traffic is captured as the pod's own (istio-iptables -k). */
  RerouteVirtualInterfaces: "istio.io/reroute-virtual-interfaces",
  /** The injection templates to apply, comma-separated, in order (default: sidecar). */
  Templates: "inject.istio.io/templates",
  NativeSidecar: "sidecar.istio.io/nativeSidecar",
  IncludeOutboundIPRanges: "traffic.sidecar.istio.io/includeOutboundIPRanges",
  ExcludeOutboundIPRanges: "traffic.sidecar.istio.io/excludeOutboundIPRanges",
  IncludeInboundPorts: "traffic.sidecar.istio.io/includeInboundPorts",
  ExcludeInboundPorts: "traffic.sidecar.istio.io/excludeInboundPorts",
  IncludeOutboundPorts: "traffic.sidecar.istio.io/includeOutboundPorts",
  ExcludeOutboundPorts: "traffic.sidecar.istio.io/excludeOutboundPorts",
  /** Set by kubectl conventions: which container `kubectl exec/logs` picks by default. */
  DefaultContainer: "kubectl.kubernetes.io/default-container",
  /** Which container `kubectl logs` picks by default. */
  DefaultLogsContainer: "kubectl.kubernetes.io/default-logs-container",
  /** Present on static (mirror) pods created by the kubelet. */
  ConfigMirror: "kubernetes.io/config.mirror",
  /** Per-pod ProxyConfig overrides (JSON or YAML object), merged into the proxy's PROXY_CONFIG. */
  ProxyConfig: "proxy.istio.io/config",
  /** Per-pod switch for the Prometheus merge ("false" turns it off). */
  PrometheusMergeMetrics: "prometheus.istio.io/merge-metrics",
  /** The user's own istio-proxy container fields, remembered so re-injection applies them again. */
  ProxyOverrides: "proxy.istio.io/overrides",
  /** Extra volumes for the pod, JSON: {"name": {volume source}}. */
  UserVolume: "sidecar.istio.io/userVolume",
  /** Extra mounts for the proxy, JSON: {"volume name": {"mountPath": "...", "readOnly": true}}. */
  UserVolumeMount: "sidecar.istio.io/userVolumeMount",
  /** Per-pod switch for probe rewriting ("false" keeps the app's probes as they are). */
  RewriteAppProbers: "sidecar.istio.io/rewriteAppHTTPProbers",
  PrometheusScrape: "prometheus.io/scrape",
  PrometheusPort: "prometheus.io/port",
  PrometheusPath: "prometheus.io/path",
  /** Multus: the pod's extra networks (a comma-separated list, or a JSON list of network objects). */
  MultusNetworks: "k8s.v1.cni.cncf.io/networks",
  /** OpenTelemetry's resource attributes a pod may set itself (read with otelSemanticConventions). */
  OtelServiceNamespace: "resource.opentelemetry.io/service.namespace",
  OtelServiceVersion: "resource.opentelemetry.io/service.version",
  OtelServiceInstanceId: "resource.opentelemetry.io/service.instance.id",
} as const;

/** Pod labels read or written by the injector. */
export const Label = {
  /** The network a pod is on (set from sidecar.network where the pod does not set it, as istiod). */
  Network: "topology.istio.io/network",
  /** Per-pod opt-in/out ("true"/"false"); beats the annotation of the same name. */
  Inject: "sidecar.istio.io/inject",
  /** The control-plane revision a pod asks for. */
  Revision: "istio.io/rev",
  TlsMode: "security.istio.io/tlsMode",
  CanonicalName: "service.istio.io/canonical-name",
  CanonicalRevision: "service.istio.io/canonical-revision",
  AppName: "app.kubernetes.io/name",
  AppVersion: "app.kubernetes.io/version",
  App: "app",
  Version: "version",
  PodTemplateHash: "pod-template-hash",
  /** Names the workload in the proxy's ISTIO_META_WORKLOAD_NAME (else the owner's name). */
  WorkloadName: "service.istio.io/workload-name",
  JobName: "batch.kubernetes.io/job-name",
  LegacyJobName: "job-name",
} as const;

/** Names of the containers the injector adds. */
export const ContainerName = {
  /** Init container that installs the iptables redirection. */
  Init: "istio-init",
  /** Unprivileged init container that checks the CNI plugin's redirection (CNI mode). */
  Validation: "istio-validation",
  /** The Envoy proxy plus pilot-agent. */
  Proxy: "istio-proxy",
} as const;

/** Names of the volumes the injector adds, in the order they are added. */
export const VolumeName = {
  WorkloadSocket: "workload-socket",
  CredentialSocket: "credential-socket",
  WorkloadCerts: "workload-certs",
  Envoy: "istio-envoy",
  Data: "istio-data",
  PodInfo: "istio-podinfo",
  Token: "istio-token",
  IstiodCA: "istiod-ca-cert",
  /** Istio's certificate revocation list (ConfigMap istio-ca-crl, optional: absent until istiod publishes one). */
  CaCrl: "istio-ca-crl",
  /** grpc-agent: the socket between the agent and a proxyless gRPC app (in place of istio-envoy). */
  Xds: "istio-xds",
} as const;

/** Where the proxy (and, for grpc-agent, the app) mounts each injected volume, as Istio's templates do. */
const MountPath: Readonly<Record<string, string>> = {
  [VolumeName.WorkloadSocket]: "/var/run/secrets/workload-spiffe-uds",
  [VolumeName.CredentialSocket]: "/var/run/secrets/credential-uds",
  [VolumeName.WorkloadCerts]: "/var/run/secrets/workload-spiffe-credentials",
  [VolumeName.IstiodCA]: "/var/run/secrets/istio",
  [VolumeName.CaCrl]: "/var/run/secrets/istio/crl",
  [VolumeName.Data]: "/var/lib/istio/data",
  [VolumeName.Envoy]: "/etc/istio/proxy",
  [VolumeName.Xds]: "/etc/istio/proxy",
  [VolumeName.Token]: "/var/run/secrets/tokens",
  [VolumeName.PodInfo]: "/etc/istio/pod",
};

/** A mount of an injected volume at its usual path. */
export function mountOf(volume: string): { mountPath: string; name: string } {
  const mountPath = MountPath[volume];
  if (mountPath === undefined) throw new Error(`no mount path for volume ${volume}`);
  return { mountPath, name: volume };
}

/** Proxy ports (Istio's fixed values). */
export const ProxyPort = {
  Outbound: 15001,
  Inbound: 15006,
  AgentStatus: 15020,
  Health: 15021,
  EnvoyPrometheus: 15090,
} as const;

/** The UID and GID the proxy runs as; iptables exempts this UID from redirection. */
export const PROXY_UID = 1337;

/** Istio's meshConfig.inboundTrafficPolicy.mode: LOCALHOST sends inbound traffic to localhost, probes too. */
export const InboundTrafficPolicies = ["PASSTHROUGH", "LOCALHOST"] as const;
export type InboundTrafficPolicy = (typeof InboundTrafficPolicies)[number];

/**
 * How the CNI plugin reaches a pod (Istio's pilot.cni.provider): chained to the cluster's own
 * plugin (`default`), or as a Multus network the pod asks for in its networks annotation (`multus`).
 */
export const CniProviders = ["default", "multus"] as const;
export type CniProvider = (typeof CniProviders)[number];

/** The Multus network (namespace/name of its NetworkAttachmentDefinition) that runs the CNI plugin, as Istio names it. */
export const MULTUS_ISTIO_CNI_NETWORK = "default/istio-cni";

export const InterceptionModes = ["REDIRECT", "TPROXY"] as const;
export type InterceptionMode = (typeof InterceptionModes)[number];

/** A pod may also ask for NONE: no traffic capture (not a cluster-wide setting, as in Istio). */
export const PodInterceptionModes = [...InterceptionModes, "NONE"] as const;
export type PodInterceptionMode = (typeof PodInterceptionModes)[number];

export const ProxyLogLevels = ["trace", "debug", "info", "warning", "error", "critical", "off"] as const;
export type ProxyLogLevel = (typeof ProxyLogLevels)[number];

export const NativeSidecarModes = ["auto", "true", "false"] as const;
export type NativeSidecarMode = (typeof NativeSidecarModes)[number];

/**
 * What the webhook does with workloads (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs,
 * CronJobs) when its configuration sends them: nothing, warnings about their pod template's
 * sidecar annotations, or a denial when those are invalid.
 */
export const WorkloadValidationModes = ["off", "warn", "deny"] as const;
export type WorkloadValidationMode = (typeof WorkloadValidationModes)[number];

/**
 * Cluster default when neither the pod nor a selector decides (Istio's `policy`); `audit` decides
 * like `enabled` but answers report-only: no patch, a warning and audit annotations instead.
 */
export const InjectionPolicies = ["enabled", "disabled", "audit"] as const;
export type InjectionPolicy = (typeof InjectionPolicies)[number];

/** A Kubernetes label selector (matchLabels AND every matchExpression). */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{
    readonly key: string;
    readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    readonly values?: readonly string[];
  }>;
}

/**
 * Containers that belong to another mesh's data plane: a pod carrying one is never injected
 * (two proxies capturing the same traffic break it).
 */
export const OTHER_MESH_CONTAINERS: readonly string[] = [
  "linkerd-proxy",
  "linkerd-init",
  "kuma-sidecar",
  "kuma-init",
  "consul-dataplane",
  "consul-connect-inject-init",
  "osm-init",
];

export const LogLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface ResourceList {
  readonly cpu?: string;
  readonly memory?: string;
  readonly "ephemeral-storage"?: string;
}

export interface Resources {
  readonly requests: ResourceList;
  readonly limits: ResourceList;
}

/** What gets injected: everything the render step needs besides the pod itself. */
export interface SidecarConfig {
  /** Proxy image; also used by the init container unless `initImage` is set. */
  readonly image: string;
  readonly initImage: string;
  /** null: the field is left out and the kubelet decides (Istio's chart default, `global.imagePullPolicy: ""`). */
  readonly imagePullPolicy: "Always" | "IfNotPresent" | "Never" | null;
  readonly imagePullSecrets: readonly string[];
  /** istiod's xDS/CA address. */
  readonly discoveryAddress: string;
  readonly clusterDomain: string;
  readonly trustDomain: string;
  readonly meshId: string;
  readonly clusterId: string;
  readonly logLevel: ProxyLogLevel;
  readonly componentLogLevel: string;
  readonly agentLogLevel: string;
  readonly interceptionMode: InterceptionMode;
  readonly includeOutboundIPRanges: string;
  readonly excludeOutboundIPRanges: string;
  readonly includeInboundPorts: string;
  readonly excludeInboundPorts: string;
  readonly includeOutboundPorts: string;
  readonly excludeOutboundPorts: string;
  /**
   * Inbound traffic goes to the pod IP (PASSTHROUGH) or to localhost (LOCALHOST: the agent then
   * sends rewritten probes to localhost too, REWRITE_PROBE_LEGACY_LOCALHOST_DESTINATION).
   */
  readonly inboundTrafficPolicy: InboundTrafficPolicy;
  /** Mount the istio.<service account> Secret at /etc/certs/ in the proxy (Istio's global.mountMtlsCerts). */
  readonly mountMtlsCerts: boolean;
  /** The network the pods are on (Istio's global.network, ISTIO_META_NETWORK); "" for none. */
  readonly network: string;
  /** The agent's status port (Istio's global.proxy.statusPort); 0 turns the proxy's probes off. */
  readonly statusPort: number;
  /** The proxy's readiness probe (Istio's global.proxy.readiness*). */
  readonly readinessInitialDelaySeconds: number;
  readonly readinessPeriodSeconds: number;
  readonly readinessFailureThreshold: number;
  /**
   * ProxyConfig fields for every proxy (Istio's meshConfig.defaultConfig), written into PROXY_CONFIG
   * under the pod's own proxy.istio.io/config; `proxyMetadata` also becomes proxy env.
   */
  readonly proxyConfig: Readonly<Record<string, unknown>>;
  readonly resources: Resources;
  readonly initResources: Resources;
  readonly tokenAudience: string;
  readonly tokenExpirationSeconds: number;
  readonly caRootConfigMap: string;
}

/**
 * What a replica serves (docs/operations: why two roles).
 * - `webhook`: admission (/inject) and /preview; never lists or watches more than namespaces, so
 *   its memory does not grow with the cluster's pods, and no report competes with admission.
 * - `reports`: GET /audit and /explain from paged, trimmed watch caches of the cluster; no
 *   admission. Its own Deployment and Service (`<service.name>-reports`).
 * - `all`: both in one process (auditEndpoint decides whether the reports are on): for local runs
 *   and small clusters.
 */
export const ServerRoles = ["all", "webhook", "reports"] as const;
export type ServerRole = (typeof ServerRoles)[number];

export interface ServerConfig {
  /** What this replica serves (see ServerRoles). */
  readonly role: ServerRole;
  readonly port: number;
  readonly host: string;
  readonly certDir: string;
  /** How long SIGTERM waits for in-flight reviews before forcing connections closed. */
  readonly shutdownDeadlineMs: number;
  /**
   * After SIGTERM, keep accepting connections this long while /readyz says 503, so endpoints
   * are updated before the listener closes (the API server keeps calling until they are).
   */
  readonly shutdownDrainDelayMs: number;
  /** Request body cap; see DEFAULT_MAX_BODY_BYTES. */
  readonly maxBodyBytes: number;
  readonly logLevel: LogLevel;
  /**
   * Also serve GET /metrics, /healthz and /readyz over plain HTTP on this port, for scrapers and
   * kubelet probes (null: only on the webhook port).
   */
  readonly metricsPort: number | null;
}

/**
 * Where the serving certificate comes from. `auto`: self-managed when running in a pod, local
 * elsewhere (resolved once at startup, see resolveTlsMode).
 */
export const TlsModes = ["auto", "local", "files", "self-managed"] as const;
export type TlsMode = (typeof TlsModes)[number];

export interface TlsConfig {
  readonly mode: TlsMode;
  /** files mode: the serving certificate, its key and (optional) CA; null: <server.certDir>/tls.crt, tls.key, ca.crt. */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly caFile: string | null;
  /** self-managed: the Secret (in the injector's namespace) that holds the CA and the serving pair. */
  readonly secretName: string;
  /** self-managed: the MutatingWebhookConfiguration whose webhooks get the caBundle. */
  readonly webhookConfigName: string;
  /** self-managed: validity of a generated CA and serving certificate; each is renewed with a third of its life left. */
  readonly caValiditySeconds: number;
  readonly certValiditySeconds: number;
  /** self-managed: the coordination.k8s.io/v1 Lease of the leader election (client-go's timings by default). */
  readonly leaseName: string;
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly retryPeriodSeconds: number;
  /** self-managed: the leader re-reads the webhook configuration this often even when its watch is quiet. */
  readonly resyncSeconds: number;
}

/**
 * POST /preview runs in worker threads, off the admission event loop, with these bounds per
 * request (see src/preview/preview-pool.ts). A request past a bound gets 413 or 422 naming it.
 */
export interface PreviewConfig {
  /** Worker threads rendering previews (read at startup). Admission keeps the main thread. */
  readonly workers: number;
  /** Previews that may wait for a worker; one more is answered 429 with Retry-After (read at startup). */
  readonly queue: number;
  /** Documents in one request (a List or an AdmissionReview counts as one): 413 past it. */
  readonly maxDocuments: number;
  /** Objects in one document (the items of a List): 413 past it. */
  readonly maxObjectsPerDocument: number;
  /** Bytes of one answer, as rendered: 422 past it (the main thread sends it over TLS). */
  readonly maxRenderedBytes: number;
  /** Time one preview may keep its worker busy; past it the worker is replaced and the answer is 422. */
  readonly maxCpuMs: number;
}

/** The whole, validated, frozen configuration. */
export interface Config {
  readonly server: ServerConfig;
  readonly preview: PreviewConfig;
  readonly tls: TlsConfig;
  /** The namespace and service the injector runs as: used for SANs and never injected. */
  readonly service: { readonly name: string; readonly namespace: string };
  /** Namespaces that are never injected (the injector's own namespace is always added). */
  readonly ignoredNamespaces: readonly string[];
  /** Native sidecars: on, off, or decided by the cluster's version (>= 1.29) at startup. */
  readonly nativeSidecars: NativeSidecarMode;
  /** Checks on workload pod templates at apply time (see WorkloadValidationModes). */
  readonly workloadValidation: WorkloadValidationMode;
  /** Control-plane revision this injector serves; pods labelled istio.io/rev for another are skipped. */
  readonly revision: string;
  /** The default when neither the pod's label/annotation nor a selector decides. */
  readonly policy: InjectionPolicy;
  /** Pods matching any of these are not injected unless they opt in themselves. */
  readonly neverInjectSelector: readonly LabelSelector[];
  /** Pods matching any of these are injected even under policy: disabled (never wins). */
  readonly alwaysInjectSelector: readonly LabelSelector[];
  /** CNI mode: the CNI plugin installs the redirection; the pod gets the unprivileged istio-validation. */
  readonly cni: boolean;
  /** With cni: how the plugin reaches the pod; `multus` adds the plugin's network to the pod's networks annotation. */
  readonly cniProvider: CniProvider;
  /**
   * The proxy gets OTEL_RESOURCE_ATTRIBUTES (service.namespace, service.version,
   * service.instance.id) by OpenTelemetry's semantic conventions for Kubernetes, as istiod does for
   * a tracing provider with serviceAttributeEnrichment OTEL_SEMANTIC_CONVENTIONS.
   */
  readonly otelSemanticConventions: boolean;
  /** Start the app only once the proxy is ready (per pod: proxy.istio.io/config). */
  readonly holdApplicationUntilProxyStarts: boolean;
  /** Point an app's prometheus.io annotations at the agent, which merges app and proxy metrics. */
  readonly prometheusMerge: boolean;
  /** Point the app's HTTP, TCP and gRPC probes at the agent, which runs them (mTLS-safe). */
  readonly rewriteAppProbers: boolean;
  /** Serve GET /audit from watch-backed caches of the cluster (read-only; needs list/watch RBAC). */
  readonly auditEndpoint: boolean;
  /** The templates applied to a pod without inject.istio.io/templates (see src/injection/templates.ts). */
  readonly defaultTemplates: readonly string[];
  /** Named overlay templates a pod may select: partial pods (metadata labels/annotations, spec). */
  readonly templates: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly sidecar: SidecarConfig;
}

/**
 * 6 MiB: twice the API server's 3 MB request cap (as Istio does), so a legal Pod is never refused;
 * express' 100 kB default would reject real pods with large env or annotations.
 */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

/** Proxy version the default images point at. */
export const DEFAULT_PROXY_TAG = "1.30.3";

const DEFAULT_RESOURCES: Resources = {
  requests: { cpu: "100m", memory: "128Mi" },
  limits: { cpu: "2000m", memory: "1024Mi" },
};

/** The embedded default configuration (used as-is by `npm start`). */
export const DEFAULT_CONFIG: Config = {
  server: {
    role: "all",
    port: 8443,
    host: "0.0.0.0",
    certDir: "certs",
    shutdownDeadlineMs: 15_000,
    shutdownDrainDelayMs: 3_000,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    logLevel: "info",
    metricsPort: null,
  },
  preview: {
    workers: 1,
    queue: 2,
    maxDocuments: 5_000,
    maxObjectsPerDocument: 1_000,
    maxRenderedBytes: 16 * 1024 * 1024,
    maxCpuMs: 2_000,
  },
  tls: {
    mode: "auto",
    certFile: null,
    keyFile: null,
    caFile: null,
    secretName: "sidecar-injector-certs",
    webhookConfigName: "sidecar-injector",
    caValiditySeconds: 10 * 365 * 86_400,
    certValiditySeconds: 7 * 86_400,
    leaseName: "sidecar-injector-leader",
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    resyncSeconds: 60,
  },
  service: { name: "sidecar-injector", namespace: "sidecar-injector" },
  ignoredNamespaces: ["kube-system", "kube-public", "kube-node-lease", "local-path-storage"],
  nativeSidecars: "auto",
  workloadValidation: "warn",
  revision: "default",
  policy: "enabled",
  neverInjectSelector: [],
  alwaysInjectSelector: [],
  cni: false,
  cniProvider: "default",
  otelSemanticConventions: false,
  holdApplicationUntilProxyStarts: false,
  prometheusMerge: true,
  rewriteAppProbers: true,
  auditEndpoint: false,
  defaultTemplates: ["sidecar"],
  templates: {},
  sidecar: {
    image: `docker.io/istio/proxyv2:${DEFAULT_PROXY_TAG}`,
    initImage: `docker.io/istio/proxyv2:${DEFAULT_PROXY_TAG}`,
    imagePullPolicy: "IfNotPresent",
    imagePullSecrets: [],
    discoveryAddress: "istiod.istio-system.svc:15012",
    clusterDomain: "cluster.local",
    trustDomain: "cluster.local",
    meshId: "cluster.local",
    clusterId: "Kubernetes",
    logLevel: "warning",
    componentLogLevel: "misc:error",
    agentLogLevel: "default:info",
    interceptionMode: "REDIRECT",
    includeOutboundIPRanges: "*",
    excludeOutboundIPRanges: "",
    includeInboundPorts: "*",
    excludeInboundPorts: "",
    includeOutboundPorts: "",
    excludeOutboundPorts: "",
    inboundTrafficPolicy: "PASSTHROUGH",
    mountMtlsCerts: false,
    network: "",
    statusPort: 15020,
    readinessInitialDelaySeconds: 0,
    readinessPeriodSeconds: 15,
    readinessFailureThreshold: 4,
    proxyConfig: {},
    resources: DEFAULT_RESOURCES,
    // The init container gets requests and limits too, so namespaces with a ResourceQuota admit the pod.
    initResources: DEFAULT_RESOURCES,
    tokenAudience: "istio-ca",
    tokenExpirationSeconds: 43200,
    caRootConfigMap: "istio-ca-root-cert",
  },
};

/** The Service (and certificate name) of the reports role: `<service.name>-reports`. */
export function reportsServiceName(config: Pick<Config, "service">): string {
  return `${config.service.name}-reports`;
}

/** The namespaces skipped for this config: the configured list plus the injector's own namespace. */
export function ignoredNamespacesOf(config: Config): ReadonlySet<string> {
  return new Set([...config.ignoredNamespaces, config.service.namespace]);
}
