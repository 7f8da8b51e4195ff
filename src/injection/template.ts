/**
 * The injection template: everything derived from configuration once, when it loads (as Istio
 * parses its templates at config load), so a request only renders and merges.
 */
import { type Config, ContainerName, VolumeName, ignoredNamespacesOf } from "../config/config.js";
import { deepFreeze, hashOf } from "../json-values.js";
import type { DecisionPolicy } from "./decision.js";
import type { Volume } from "./pod.js";

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
  /** The volumes every injected pod gets, in order. */
  readonly volumes: readonly Volume[];
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
  return {
    config,
    hash: hashOf({
      renderVersion: RENDER_VERSION,
      sidecar: config.sidecar,
      revision: config.revision,
      nativeSidecars: config.nativeSidecars,
      cni: config.cni,
      holdApplicationUntilProxyStarts: config.holdApplicationUntilProxyStarts,
      prometheusMerge: config.prometheusMerge,
      rewriteAppProbers: config.rewriteAppProbers,
    }),
    policy: {
      ignoredNamespaces: ignoredNamespacesOf(config),
      revision: config.revision,
      policy: config.policy,
      neverInjectSelector: config.neverInjectSelector,
      alwaysInjectSelector: config.alwaysInjectSelector,
      containerNames: [ContainerName.Init, ContainerName.Validation, ContainerName.Proxy],
      volumeNames: volumes.map((v) => v.name),
    },
    volumes,
  };
}
