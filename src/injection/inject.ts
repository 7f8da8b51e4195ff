/**
 * Apply a rendered sidecar to a copy of a pod. Pure and idempotent: a previous injection recorded
 * in the status annotation is stripped first, so injecting twice gives the same pod as once.
 *
 * Placement (as Istio): classic mode appends istio-init after the app's init containers (so they
 * run before traffic capture) and istio-proxy after the app containers (so kubectl defaults to the
 * app); native mode puts istio-init then istio-proxy before the app's init containers, so those
 * already have the mesh. In CNI mode istio-validation replaces istio-init and always goes first.
 */
import { Annotation, ContainerName } from "../config/config.js";
import { withProbes } from "./app-probe.js";
import { type Container, type Pod, type StringMap, lookup } from "./pod.js";
import { NO_OVERRIDES, formatOverrides, readOverridesRecord } from "./proxy-overrides.js";
import type { RenderedSidecar } from "./render.js";
import { pullSecretsWith } from "./pull-secrets.js";
import { type SidecarStatus, formatStatus } from "./status.js";
import { applyOverlay } from "./templates.js";

function setIfAbsent(map: StringMap, key: string, value: string): void {
  if (!Object.hasOwn(map, key)) map[key] = value;
}

/** The sidecar's own containers: on re-injection they are rendered again, never restored from the record. */
const SIDECAR_CONTAINERS: ReadonlySet<string> = new Set([ContainerName.Proxy, ContainerName.Init]);

/**
 * Undo a previous injection (containers and volumes named in its status record). An app container
 * the templates changed is listed there too (as istiod lists it): it is put back as the user wrote
 * it, from proxy.istio.io/overrides, where it stands; without a record of it, it is removed, as
 * istiod removes it.
 */
export function stripInjected(pod: Pod, previous: SidecarStatus): void {
  const record = readOverridesRecord(lookup(pod.metadata.annotations, Annotation.ProxyOverrides)) ?? NO_OVERRIDES;
  const restore = (list: readonly Container[], names: readonly string[], recorded: readonly Record<string, unknown>[]): Container[] => {
    const listed = new Set(names);
    const out: Container[] = [];
    for (const c of list) {
      if (!listed.has(c.name)) out.push(c);
      else if (!SIDECAR_CONTAINERS.has(c.name)) {
        const own = recorded.find((r) => r.name === c.name);
        if (own !== undefined) out.push(structuredClone(own) as Container);
      }
    }
    return out;
  };
  const volumes = new Set(previous.volumes);
  pod.spec.containers = restore(pod.spec.containers, [...previous.containers, ...previous.initContainers], record.containers);
  if (pod.spec.initContainers) pod.spec.initContainers = restore(pod.spec.initContainers, [...previous.initContainers, ...previous.containers], record.initContainers);
  if (pod.spec.volumes) pod.spec.volumes = pod.spec.volumes.filter((v) => !volumes.has(v.name));
}

/**
 * Copy what injection changes (pod, metadata, labels, annotations, spec and its lists) and share
 * everything else with the original. Nothing below mutates a shared object, and sharing lets the
 * diff skip the user's containers and volumes by reference (the admission hot path).
 */
function copyForInjection(original: Pod): Pod {
  const meta = original.metadata;
  const spec = original.spec;
  return {
    ...original,
    metadata: {
      ...meta,
      ...(meta.labels && { labels: { ...meta.labels } }),
      ...(meta.annotations && { annotations: { ...meta.annotations } }),
    },
    spec: {
      ...spec,
      containers: [...spec.containers],
      ...(spec.initContainers && { initContainers: [...spec.initContainers] }),
      ...(spec.volumes && { volumes: [...spec.volumes] }),
      ...(spec.imagePullSecrets && { imagePullSecrets: [...spec.imagePullSecrets] }),
    },
  };
}

/** Return a new pod: `original` with the rendered sidecar added. `original` is not modified. */
export function injectPod(original: Pod, rendered: RenderedSidecar, previous: SidecarStatus | null): Pod {
  const pod = copyForInjection(original);
  if (previous !== null) stripInjected(pod, previous);
  const meta = pod.metadata;
  const spec = pod.spec;
  // The user's containers as they are before injection changes them (recorded when a template does).
  const before = { containers: [...spec.containers], initContainers: [...(spec.initContainers ?? [])] };

  const labels: StringMap = meta.labels ?? {};
  for (const [k, v] of Object.entries(rendered.labels)) setIfAbsent(labels, k, v);
  meta.labels = labels;

  const annotations: StringMap = meta.annotations ?? {};
  for (const [k, v] of Object.entries(rendered.annotations)) setIfAbsent(annotations, k, v);
  for (const k of rendered.clearAnnotations) delete annotations[k];
  Object.assign(annotations, rendered.overwriteAnnotations);
  meta.annotations = annotations;

  // The app's containers (with rewritten probes, when any), in order; a user-declared istio-proxy
  // is not one of them: it has been merged into rendered.proxy.
  const current = withProbes(spec.containers, rendered.appProbes);
  const proxy = rendered.proxy;
  const apps = proxy === null ? current : current.filter((c) => c.name !== ContainerName.Proxy);
  const initProbed = withProbes(spec.initContainers ?? [], rendered.appProbes);
  const withoutProxy = proxy === null ? initProbed : initProbed.filter((c) => c.name !== ContainerName.Proxy);
  // A user-declared istio-init has been merged into rendered.init: classic mode keeps it where it stands.
  const userInitAt = rendered.init?.name === ContainerName.Init ? withoutProxy.findIndex((c) => c.name === ContainerName.Init) : -1;
  const userInit = userInitAt < 0 ? withoutProxy : withoutProxy.filter((_, i) => i !== userInitAt);
  let init = initContainersWith(userInit, spec.initContainers !== undefined, rendered);
  if (rendered.init !== null && userInitAt >= 0 && !(rendered.native && proxy !== null)) {
    init = [...userInit.slice(0, userInitAt), rendered.init, ...userInit.slice(userInitAt)];
  }
  if (init !== undefined) spec.initContainers = init;
  // A user-declared istio-proxy (classic mode, no hold) is replaced where it stands.
  const inPlace = proxy !== null && !rendered.native && !rendered.holdApplication && apps.length < current.length;
  spec.containers = inPlace ? current.map((c) => (c.name === ContainerName.Proxy ? proxy : c)) : containersWith(apps, rendered);
  if (rendered.volumes.length > 0) spec.volumes = [...(spec.volumes ?? []), ...rendered.volumes];
  if (rendered.podSecurityContext) spec.securityContext = { ...(spec.securityContext as object | undefined), ...rendered.podSecurityContext };

  let status = rendered.status;
  let overrides = rendered.userOverrides;
  if (rendered.overlays.length > 0) {
    const appNames = new Set(apps.map((c) => c.name));
    const added = { initContainers: [...status.initContainers], containers: [...status.containers], volumes: [...status.volumes] };
    const changed = { initContainers: [] as string[], containers: [] as string[] };
    for (const overlay of rendered.overlays) {
      const more = applyOverlay(pod, overlay, appNames);
      added.initContainers.push(...more.initContainers);
      added.containers.push(...more.containers);
      added.volumes.push(...more.volumes);
      for (const n of more.changedInitContainers) if (!changed.initContainers.includes(n)) changed.initContainers.push(n);
      for (const n of more.changedContainers) if (!changed.containers.includes(n)) changed.containers.push(n);
    }
    // As istiod: the user's containers a template changed are listed as the injection's and
    // recorded, so that a re-injection starts again from the user's own.
    const userOnes = (names: readonly string[], list: readonly Container[], ours: readonly string[]): Record<string, unknown>[] =>
      names.filter((n) => !ours.includes(n) && !SIDECAR_CONTAINERS.has(n)).flatMap((n) => list.filter((c) => c.name === n).map((c) => ({ ...c })));
    const recordedContainers = userOnes(changed.containers, before.containers, added.containers);
    const recordedInit = userOnes(changed.initContainers, before.initContainers, added.initContainers);
    added.containers.push(...recordedContainers.map((c) => c.name as string));
    added.initContainers.push(...recordedInit.map((c) => c.name as string));
    if (recordedContainers.length > 0 || recordedInit.length > 0) {
      overrides = { containers: [...overrides.containers, ...recordedContainers], initContainers: [...overrides.initContainers, ...recordedInit] };
    }
    status = { ...status, ...added };
  }
  const finalAnnotations = pod.metadata.annotations ?? annotations;
  // Rewritten on re-injection too (from the record), so a record in the format before 0.3 becomes one istiod reads.
  if (overrides.containers.length > 0 || overrides.initContainers.length > 0) finalAnnotations[Annotation.ProxyOverrides] = formatOverrides(overrides);
  finalAnnotations[Annotation.Status] = formatStatus(status);
  if (status.templateHash !== undefined) finalAnnotations[Annotation.TemplateHash] = status.templateHash;
  pod.metadata.annotations = finalAnnotations;

  if (rendered.imagePullSecrets.length > 0) spec.imagePullSecrets = pullSecretsWith(spec.imagePullSecrets ?? [], rendered.imagePullSecrets);
  return pod;
}

/**
 * The app containers with the proxy placed: classic mode appends it (the proxy goes first
 * with holdApplicationUntilProxyStarts); native mode puts it among the init containers instead.
 */
export function containersWith(apps: readonly Container[], rendered: RenderedSidecar): Container[] {
  const proxy = rendered.proxy;
  if (proxy === null || rendered.native) return [...apps];
  return rendered.holdApplication ? [proxy, ...apps] : [...apps, proxy];
}

/**
 * The init containers after injection, or undefined when the pod has none and gets none.
 * Native mode: istio-init (or istio-validation), then the proxy, then the app's. Classic mode:
 * istio-validation (CNI) goes first, to hold the app's init containers until the redirection is
 * in place; istio-init goes last, so theirs run before traffic is captured.
 */
export function initContainersWith(userInit: readonly Container[], hadList: boolean, rendered: RenderedSidecar): Container[] | undefined {
  const init = rendered.init === null ? [] : [rendered.init];
  if (rendered.proxy !== null && rendered.native) return [...init, rendered.proxy, ...userInit];
  if (init.length === 0 && !hadList) return undefined;
  return rendered.init?.name === ContainerName.Validation ? [...init, ...userInit] : [...userInit, ...init];
}
