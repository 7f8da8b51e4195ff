/**
 * GET /config/summary: what a person previewing manifests needs to know about the running
 * injector's configuration — the proxy image, the revision, whether native sidecars are on, the
 * templates — read from the same live context the previews and admission use. Pure: the summary
 * holds settings only, never certificates, Secrets, addresses or anything read from the cluster.
 */
import type { InjectionPolicy, NativeSidecarMode } from "../config/config.js";
import { type InjectionContext, resolveNative } from "../injection/pipeline.js";
import { NAMESPACE_INJECTION_LABEL } from "./preview.js";

export interface ConfigSummary {
  /** The injector's own version (package.json). */
  readonly version: string;
  /** The control-plane revision it serves (pods labelled istio.io/rev for another are skipped). */
  readonly revision: string;
  /** The proxy image, and the init container's. */
  readonly proxyImage: string;
  readonly initImage: string;
  /** The setting, and what it comes to for a pod that does not ask (auto: the cluster's version, learned at startup). */
  readonly nativeSidecars: { readonly setting: NativeSidecarMode; readonly on: boolean };
  /** The templates a pod gets without inject.istio.io/templates, and every name a pod may ask for. */
  readonly templates: { readonly default: readonly string[]; readonly available: readonly string[] };
  readonly policy: InjectionPolicy;
  readonly cni: boolean;
  /** The hash recorded on injected pods (stale-pod detection). */
  readonly templateHash: string;
  /** The namespace label that makes the API server send a namespace's pods. */
  readonly namespaceLabel: string;
}

/** The summary of the configuration a context renders with. */
export function summarizeConfig(ctx: InjectionContext, version: string): ConfigSummary {
  const { config, hash, templateNames } = ctx.template;
  return {
    version,
    revision: config.revision,
    proxyImage: config.sidecar.image,
    initImage: config.sidecar.initImage,
    nativeSidecars: { setting: config.nativeSidecars, on: resolveNative(ctx, undefined) },
    templates: { default: [...config.defaultTemplates], available: [...templateNames] },
    policy: config.policy,
    cni: config.cni,
    templateHash: hash,
    namespaceLabel: `${NAMESPACE_INJECTION_LABEL}=enabled`,
  };
}
