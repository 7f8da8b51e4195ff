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
import { Annotation, VolumeName, mountOf } from "../config/config.js";
import { EVERY_APP_CONTAINER } from "../config/templates.js";
import { isObject } from "../json-values.js";
import type { Container, Pod, StringMap, Volume } from "./pod.js";
import { mergeContainer } from "./proxy-overrides.js";

export { BuiltinTemplate, PROXY_TEMPLATES, type ProxyTemplate, checkOverlayTemplate, checkTemplateList, templateNames } from "../config/templates.js";



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
  /** The pod's own containers the overlay merged into, by name. */
  readonly changedInitContainers: string[];
  readonly changedContainers: string[];
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

/**
 * Merge overlay containers into a list by name ("*": every app container); `added` gets the names
 * added, `changed` the names of the containers already there that it merged into.
 */
function mergeContainers(list: Container[], overlay: readonly unknown[], apps: ReadonlySet<string>, added: string[], changed: string[]): void {
  const mark = (name: string): void => {
    if (!changed.includes(name) && !added.includes(name)) changed.push(name);
  };
  for (const item of overlay) {
    const c = item as Container;
    if (c.name === EVERY_APP_CONTAINER) {
      list.forEach((x, i) => {
        if (!apps.has(x.name)) return;
        list[i] = mergeContainer(x, c);
        mark(x.name);
      });
      continue;
    }
    const at = list.findIndex((x) => x.name === c.name);
    const existing = list[at];
    if (existing !== undefined) {
      list[at] = mergeContainer(existing, c);
      mark(c.name);
    } else {
      list.push(structuredClone(c));
      added.push(c.name);
    }
  }
}

/**
 * Apply an overlay to an injected pod (in place: the pod is the injection's own copy; lists and
 * maps touched here are replaced, never shared objects changed). `apps` names the app containers.
 */
export function applyOverlay(pod: Pod, overlay: OverlayTemplate, apps: ReadonlySet<string>): OverlayAdded {
  const added: OverlayAdded = { initContainers: [], containers: [], volumes: [], changedInitContainers: [], changedContainers: [] };
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
    mergeContainers(list, spec.initContainers, apps, added.initContainers, added.changedInitContainers);
    pod.spec.initContainers = list;
  }
  if (Array.isArray(spec.containers)) {
    const list = [...pod.spec.containers];
    mergeContainers(list, spec.containers, apps, added.containers, added.changedContainers);
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

