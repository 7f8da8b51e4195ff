/**
 * Named injection templates, selected per pod by `inject.istio.io/templates` (a comma-separated
 * list applied in order; default: the configuration's defaultTemplates, itself `sidecar` unless
 * set). As in Istio 1.30:
 *
 *   sidecar      the proxy and its traffic-capture init container (the default);
 *   gateway      a gateway: fills the pod's own istio-proxy container, no traffic capture;
 *   grpc-agent   proxyless gRPC with the agent: the agent serves xDS and certificates to the app;
 *   grpc-simple  proxyless gRPC without the agent: a bootstrap file written by an init container.
 *
 * The first three render the proxy: a pod names at most one of them. grpc-simple and the templates
 * a configuration declares are overlays: a partial pod (labels, annotations and spec) merged over
 * the result, containers and volumes merged by name. A container named "*" in an overlay applies
 * to every app container. Overlays are data, validated when the configuration loads.
 */
import { Annotation, ContainerName, VolumeName, mountOf } from "../config/config.js";
import { isObject } from "../json-values.js";
import { isDnsLabel, isQualifiedName } from "../validation/formats.js";
import type { Container, Pod, StringMap, Volume } from "./pod.js";
import { mergeContainer } from "./proxy-overrides.js";

export const BuiltinTemplate = {
  Sidecar: "sidecar",
  Gateway: "gateway",
  GrpcAgent: "grpc-agent",
  GrpcSimple: "grpc-simple",
} as const;
export type ProxyTemplate = typeof BuiltinTemplate.Sidecar | typeof BuiltinTemplate.Gateway | typeof BuiltinTemplate.GrpcAgent;

/** The templates that render the proxy (a pod names at most one). */
export const PROXY_TEMPLATES: readonly ProxyTemplate[] = [BuiltinTemplate.Sidecar, BuiltinTemplate.Gateway, BuiltinTemplate.GrpcAgent];

/** A container name in an overlay that stands for every app container. */
const EVERY_APP_CONTAINER = "*";

/** A partial pod merged over the injected pod. */
export interface OverlayTemplate {
  readonly metadata?: { readonly labels?: Readonly<StringMap>; readonly annotations?: Readonly<StringMap> };
  readonly spec?: Readonly<Record<string, unknown>>;
}

/** What an overlay added (for the status record, so re-injection replaces it). */
export interface OverlayAdded {
  readonly initContainers: string[];
  readonly containers: string[];
  readonly volumes: string[];
}

/** The volume the grpc templates share between the bootstrap writer and the app. */
const GRPC_BOOTSTRAP_VOLUME = "grpc-io-proxyless-bootstrap";

/** grpc-simple: an init container writes a gRPC xDS bootstrap that points the app at istiod directly. */
export function grpcSimpleOverlay(istioNamespace: string, clusterDomain: string): OverlayTemplate {
  const mount = { mountPath: "/var/lib/grpc/data/", name: GRPC_BOOTSTRAP_VOLUME };
  const field = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const bootstrap = [
    `NODE_ID="sidecar~\${INSTANCE_IP}~\${POD_NAME}.\${POD_NAMESPACE}~${clusterDomain}"`,
    'SERVER_URI="dns:///istiod.${ISTIO_NAMESPACE}.svc:15010"',
    "echo '",
    "{",
    '  "xds_servers": [',
    "    {",
    `      "server_uri": "'\${SERVER_URI}'",`,
    '      "channel_creds": [{"type": "insecure"}],',
    '      "server_features" : ["xds_v3"]',
    "    }",
    "  ],",
    '  "node": {',
    `    "id": "'\${NODE_ID}'",`,
    '    "metadata": {',
    '      "GENERATOR": "grpc"',
    "    }",
    "  }",
    "}' > /var/lib/grpc/data/bootstrap.json",
  ].join("\n");
  return {
    metadata: { annotations: { [Annotation.RewriteAppProbers]: "false" } },
    spec: {
      initContainers: [
        {
          name: "grpc-bootstrap-init",
          image: "busybox:1.28",
          volumeMounts: [mount],
          env: [
            field("INSTANCE_IP", "status.podIP"),
            field("POD_NAME", "metadata.name"),
            field("POD_NAMESPACE", "metadata.namespace"),
            { name: "ISTIO_NAMESPACE", value: `${istioNamespace}\n` },
          ],
          command: ["sh", "-c", bootstrap],
        },
      ],
      containers: [
        {
          name: EVERY_APP_CONTAINER,
          env: [
            { name: "GRPC_XDS_BOOTSTRAP", value: "/var/lib/grpc/data/bootstrap.json" },
            { name: "GRPC_GO_LOG_VERBOSITY_LEVEL", value: "99" },
            { name: "GRPC_GO_LOG_SEVERITY_LEVEL", value: "info" },
          ],
          volumeMounts: [mount],
        },
      ],
      volumes: [{ name: GRPC_BOOTSTRAP_VOLUME, emptyDir: {} }],
    },
  };
}

/** grpc-agent's part for the app containers: the agent's bootstrap, xDS socket and certificates. */
export const GRPC_AGENT_APPS: OverlayTemplate = {
  metadata: { annotations: { [Annotation.RewriteAppProbers]: "false" } },
  spec: {
    containers: [
      {
        name: EVERY_APP_CONTAINER,
        env: [
          { name: "GRPC_XDS_EXPERIMENTAL_SECURITY_SUPPORT", value: "true" },
          { name: "GRPC_XDS_BOOTSTRAP", value: "/etc/istio/proxy/grpc-bootstrap.json" },
        ],
        volumeMounts: [VolumeName.Data, VolumeName.Xds, VolumeName.WorkloadCerts].map(mountOf),
      },
    ],
  },
};

const OVERLAY_SPEC_LISTS = new Set(["containers", "initContainers", "volumes"]);

function mergeValue(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeValue(base[k], v);
  return out;
}

/** Merge overlay containers into a list by name ("*": every app container); returns the names added. */
function mergeContainers(list: Container[], overlay: readonly unknown[], apps: ReadonlySet<string>): string[] {
  const added: string[] = [];
  for (const item of overlay) {
    const c = item as Container;
    if (c.name === EVERY_APP_CONTAINER) {
      list.forEach((x, i) => {
        if (apps.has(x.name)) list[i] = mergeContainer(x, c);
      });
      continue;
    }
    const at = list.findIndex((x) => x.name === c.name);
    const existing = list[at];
    if (existing !== undefined) list[at] = mergeContainer(existing, c);
    else {
      list.push(structuredClone(c));
      added.push(c.name);
    }
  }
  return added;
}

/**
 * Apply an overlay to an injected pod (in place: the pod is the injection's own copy; lists and
 * maps touched here are replaced, never shared objects changed). `apps` names the app containers.
 */
export function applyOverlay(pod: Pod, overlay: OverlayTemplate, apps: ReadonlySet<string>): OverlayAdded {
  const added: OverlayAdded = { initContainers: [], containers: [], volumes: [] };
  const meta = pod.metadata;
  if (overlay.metadata?.labels) meta.labels = { ...meta.labels, ...overlay.metadata.labels };
  if (overlay.metadata?.annotations) meta.annotations = { ...meta.annotations, ...overlay.metadata.annotations };
  const spec = overlay.spec ?? {};
  const target = pod.spec as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(spec)) {
    if (OVERLAY_SPEC_LISTS.has(key)) continue;
    target[key] = mergeValue(target[key], structuredClone(value));
  }
  if (Array.isArray(spec.initContainers)) {
    const list = [...(pod.spec.initContainers ?? [])];
    added.initContainers.push(...mergeContainers(list, spec.initContainers, apps));
    pod.spec.initContainers = list;
  }
  if (Array.isArray(spec.containers)) {
    const list = [...pod.spec.containers];
    added.containers.push(...mergeContainers(list, spec.containers, apps));
    pod.spec.containers = list;
  }
  if (Array.isArray(spec.volumes)) {
    const list: Volume[] = [...(pod.spec.volumes ?? [])];
    for (const item of spec.volumes as Volume[]) {
      const at = list.findIndex((v) => v.name === item.name);
      if (at >= 0) list[at] = structuredClone(item);
      else {
        list.push(structuredClone(item));
        added.volumes.push(item.name);
      }
    }
    pod.spec.volumes = list;
  }
  return added;
}

const SPEC_FIELDS_NOT_OVERLAID = new Set(["nodeName", "hostNetwork", "serviceAccountName", "serviceAccount", "overhead"]);

function checkNamedList(value: unknown, path: string, allowEvery: boolean, problems: string[]): void {
  if (!Array.isArray(value)) {
    problems.push(`${path} must be a list`);
    return;
  }
  const seen = new Set<string>();
  value.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(item)) return void problems.push(`${at} must be an object`);
    const name = item.name;
    if (typeof name !== "string" || !(isDnsLabel(name) || (allowEvery && name === EVERY_APP_CONTAINER))) {
      problems.push(`${at}.name must be a DNS label${allowEvery ? ' or "*" (every app container)' : ""}`);
    } else if (seen.has(name)) problems.push(`${at}.name ${JSON.stringify(name)} appears twice`);
    else seen.add(name);
    if (typeof name === "string" && name === ContainerName.Proxy && path.endsWith("containers")) {
      problems.push(`${at} names ${ContainerName.Proxy}: the proxy comes from the sidecar, gateway or grpc-agent template`);
    }
  });
}

function checkStringMap(value: unknown, path: string, problems: string[]): void {
  if (!isObject(value)) return void problems.push(`${path} must be a map of strings`);
  for (const [k, v] of Object.entries(value)) {
    if (!isQualifiedName(k)) problems.push(`${path} key ${JSON.stringify(k)} is not a valid key`);
    if (typeof v !== "string") problems.push(`${path}[${JSON.stringify(k)}] must be a string`);
  }
}

/** Validate one configured template (a partial pod); problems are pushed with their path. */
export function checkOverlayTemplate(value: unknown, path: string, problems: string[]): void {
  if (!isObject(value)) return void problems.push(`${path} must be an object with metadata and/or spec`);
  for (const key of Object.keys(value)) {
    if (key !== "metadata" && key !== "spec") problems.push(`${path}.${key} is not allowed (only metadata and spec)`);
  }
  if (value.metadata !== undefined) {
    if (!isObject(value.metadata)) problems.push(`${path}.metadata must be an object`);
    else {
      for (const key of Object.keys(value.metadata)) {
        if (key !== "labels" && key !== "annotations") problems.push(`${path}.metadata.${key} is not allowed (only labels and annotations)`);
      }
      if (value.metadata.labels !== undefined) checkStringMap(value.metadata.labels, `${path}.metadata.labels`, problems);
      if (value.metadata.annotations !== undefined) checkStringMap(value.metadata.annotations, `${path}.metadata.annotations`, problems);
    }
  }
  if (value.spec !== undefined) {
    if (!isObject(value.spec)) return void problems.push(`${path}.spec must be an object`);
    for (const key of Object.keys(value.spec)) {
      if (SPEC_FIELDS_NOT_OVERLAID.has(key)) problems.push(`${path}.spec.${key} cannot be set by a template`);
    }
    if (value.spec.containers !== undefined) checkNamedList(value.spec.containers, `${path}.spec.containers`, true, problems);
    if (value.spec.initContainers !== undefined) checkNamedList(value.spec.initContainers, `${path}.spec.initContainers`, false, problems);
    if (value.spec.volumes !== undefined) checkNamedList(value.spec.volumes, `${path}.spec.volumes`, false, problems);
  }
}

/** Every template name a pod may ask for under this configuration. */
export function templateNames(configured: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  return new Set<string>([...Object.values(BuiltinTemplate), ...Object.keys(configured)]);
}

/**
 * Problems with a pod's (or the configuration's default) list of template names: unknown names and
 * more than one template that renders the proxy.
 */
export function checkTemplateList(names: readonly string[], known: ReadonlySet<string>, subject: string): string[] {
  const problems: string[] = [];
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    problems.push(`${subject} names unknown template${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => JSON.stringify(n)).join(", ")}; known: ${[...known].join(", ")}`);
  }
  const proxies = names.filter((n) => (PROXY_TEMPLATES as readonly string[]).includes(n));
  if (new Set(proxies).size > 1) {
    problems.push(`${subject} names ${proxies.join(" and ")}, which each render the proxy; choose one`);
  }
  return problems;
}
