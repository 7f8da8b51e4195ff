/**
 * The injection template: everything derived from configuration once, when it loads (as Istio
 * parses its templates at config load), so a request only renders and merges.
 */
import { type Config, ContainerName, VolumeName, ignoredNamespacesOf } from "../config/config.js";
import { deepFreeze, hashOf } from "../json-values.js";
import type { DecisionPolicy } from "./decision.js";
import type { Volume } from "./pod.js";
import { BuiltinTemplate, type OverlayTemplate, type ProxyTemplate, grpcSimpleOverlay, templateNames } from "./templates.js";

/**
 * Bumped whenever the render code changes what it produces for the same configuration, so the
 * template hash (and with it stale-pod detection) follows code changes too.
 */
export const RENDER_VERSION = 3;

export interface InjectionTemplate {
  readonly config: Config;
  /** Stable hash of what shapes the injected sidecar (recorded in the status annotation). */
  readonly hash: string;
  readonly policy: DecisionPolicy;
  /** The volumes every injected pod gets, in order (the sidecar template's). */
  readonly volumes: readonly Volume[];
  /** The volumes of each template that renders the proxy. */
  readonly volumesFor: Readonly<Record<ProxyTemplate, readonly Volume[]>>;
  /** The overlay templates by name: grpc-simple and the configured ones. */
  readonly overlays: ReadonlyMap<string, OverlayTemplate>;
  /** Every template name a pod may ask for. */
  readonly templateNames: ReadonlySet<string>;
}

/** The istiod namespace, read from the discovery address (istiod.<namespace>.svc:15012). */
function istioNamespaceOf(discoveryAddress: string): string {
  return discoveryAddress.split(":")[0]?.split(".")[1] || "istio-system";
}

/** Volumes of the gateway and grpc-agent templates, from the sidecar's (as Istio's templates list them). */
function proxyTemplateVolumes(sidecar: readonly Volume[]): Record<ProxyTemplate, readonly Volume[]> {
  const byName = new Map(sidecar.map((v) => [v.name, v]));
  const pick = (...names: string[]) => names.map((n) => byName.get(n) ?? { name: n, emptyDir: { medium: "Memory" } });
  return {
    sidecar,
    gateway: pick(
      VolumeName.WorkloadSocket,
      VolumeName.CredentialSocket,
      VolumeName.WorkloadCerts,
      VolumeName.Envoy,
      VolumeName.Data,
      VolumeName.PodInfo,
      VolumeName.Token,
      VolumeName.IstiodCA,
    ),
    "grpc-agent": pick(VolumeName.WorkloadSocket, VolumeName.WorkloadCerts, VolumeName.Xds, VolumeName.Data, VolumeName.PodInfo, VolumeName.Token, VolumeName.IstiodCA),
  };
}

function renderVolumes(config: Config): Volume[] {
  const s = config.sidecar;
  return [
    { name: VolumeName.WorkloadSocket, emptyDir: {} },
    { name: VolumeName.CredentialSocket, emptyDir: {} },
    { name: VolumeName.WorkloadCerts, emptyDir: {} },
    { name: VolumeName.Envoy, emptyDir: { medium: "Memory" } },
    { name: VolumeName.Data, emptyDir: {} },
    {
      name: VolumeName.PodInfo,
      downwardAPI: {
        items: [
          { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
          { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
        ],
      },
    },
    {
      name: VolumeName.Token,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: s.tokenAudience,
              expirationSeconds: s.tokenExpirationSeconds,
              path: "istio-token",
            },
          },
        ],
      },
    },
    { name: VolumeName.IstiodCA, configMap: { name: s.caRootConfigMap } },
    { name: VolumeName.CaCrl, configMap: { name: VolumeName.CaCrl, optional: true } },
  ];
}

/** Compile a validated configuration into the template used for every request. */
export function compileTemplate(config: Config): InjectionTemplate {
  const volumes = deepFreeze(renderVolumes(config));
  const volumesFor = deepFreeze(proxyTemplateVolumes(volumes));
  const overlays = new Map<string, OverlayTemplate>([
    ...(Object.entries(config.templates) as Array<[string, OverlayTemplate]>),
    [BuiltinTemplate.GrpcSimple, deepFreeze(grpcSimpleOverlay(istioNamespaceOf(config.sidecar.discoveryAddress), config.sidecar.clusterDomain))],
  ]);
  return {
    config,
    volumesFor,
    overlays,
    templateNames: templateNames(config.templates),
    hash: hashOf({
      renderVersion: RENDER_VERSION,
      sidecar: config.sidecar,
      revision: config.revision,
      nativeSidecars: config.nativeSidecars,
      cni: config.cni,
      holdApplicationUntilProxyStarts: config.holdApplicationUntilProxyStarts,
      prometheusMerge: config.prometheusMerge,
      rewriteAppProbers: config.rewriteAppProbers,
      defaultTemplates: config.defaultTemplates,
      templates: config.templates,
      // Settings added since: hashed only when set, so an upgrade alone does not make every
      // injected pod look stale.
      ...(config.cniProvider !== "default" && { cniProvider: config.cniProvider }),
      ...(config.otelSemanticConventions && { otelSemanticConventions: true }),
    }),
    policy: {
      ignoredNamespaces: ignoredNamespacesOf(config),
      revision: config.revision,
      policy: config.policy,
      neverInjectSelector: config.neverInjectSelector,
      alwaysInjectSelector: config.alwaysInjectSelector,
      containerNames: [ContainerName.Init, ContainerName.Validation, ContainerName.Proxy],
      volumeNames: [...new Set(Object.values(volumesFor).flatMap((list) => list.map((v) => v.name)))],
    },
    volumes,
  };
}
