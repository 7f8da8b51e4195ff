/**
 * The objects the certificate code reads and writes — Secrets and Leases in the injector's
 * namespace, and the MutatingWebhookConfiguration — through @kubernetes/client-node, with the
 * API server's answers turned into what callers act on: 404 → null, 409 → ConflictError, anything
 * else → KubeApiError. Every call has a deadline (a hung connection must not stall leader
 * election past its renew deadline). See api-calls.ts for the table these calls must match.
 */
import type {
  KubeConfig,
  KubernetesListObject,
  V1Lease,
  V1MutatingWebhookConfiguration,
  V1Secret,
} from "@kubernetes/client-node";
import { KubeApiError } from "../errors.js";

/** A write lost a race (409): re-read and decide again. */
export class ConflictError extends KubeApiError {
  constructor(message: string, cause?: unknown) {
    super(message, 409, cause);
  }
}

/** One RFC 6902 operation (the webhook configuration is patched with `test` guards). */
export type PatchOperation =
  | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

export interface NamespacedObjects<T> {
  get(name: string): Promise<T | null>;
  create(object: T): Promise<T>;
  /** Replace with the object's resourceVersion as a precondition (409 → ConflictError). */
  replace(object: T): Promise<T>;
}

export interface ClusterObjects {
  readonly namespace: string;
  readonly secrets: NamespacedObjects<V1Secret> & {
    /** A list holding at most the named Secret (for a watch-backed cache of that one object). */
    listNamed(name: string): Promise<KubernetesListObject<V1Secret>>;
  };
  readonly leases: NamespacedObjects<V1Lease> & {
    list(labelSelector: string): Promise<V1Lease[]>;
    delete(name: string): Promise<void>;
  };
  readonly webhookConfigs: {
    get(name: string): Promise<V1MutatingWebhookConfiguration | null>;
    listNamed(name: string): Promise<KubernetesListObject<V1MutatingWebhookConfiguration>>;
    patch(name: string, ops: readonly PatchOperation[]): Promise<V1MutatingWebhookConfiguration>;
  };
  /** The client config, for watches (informer-cache.ts). */
  readonly kubeConfig: KubeConfig;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/** The API server's own message from a Status body, when there is one. */
function messageOf(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      // not JSON: fall through
    }
  }
  return (err as Error).message ?? String(err);
}

/** Run one API call with a deadline; a failure becomes a KubeApiError naming `what` (409: ConflictError). */
export async function call<T>(what: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeApiError(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([run(), timeout]);
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
    const code = statusOf(err);
    const message = `${what} failed${code ? ` (HTTP ${code})` : ""}: ${messageOf(err)}`;
    if (code === 409) throw new ConflictError(message, err);
    throw new KubeApiError(message, code, err);
  } finally {
    clearTimeout(timer);
  }
}

/** The field selector that names one object (RBAC's resourceNames then authorizes list and watch). */
export function byName(name: string): string {
  return `metadata.name=${name}`;
}

async function orNull<T>(run: Promise<T>): Promise<T | null> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof KubeApiError && err.httpStatus === 404) return null;
    throw err;
  }
}

export async function clusterObjects(kc: KubeConfig, namespace: string, timeoutMs: number): Promise<ClusterObjects> {
  const k8s = await import("@kubernetes/client-node");
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const jsonPatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);
  const c = <T>(what: string, run: () => Promise<T>) => call(what, timeoutMs, run);
  return {
    namespace,
    kubeConfig: kc,
    secrets: {
      get: (name) => orNull(c(`get secret ${namespace}/${name}`, () => core.readNamespacedSecret({ name, namespace }))),
      listNamed: (name) => c(`list secrets ${namespace} (${name})`, () => core.listNamespacedSecret({ namespace, fieldSelector: byName(name) })),
      create: (body) => c(`create secret ${namespace}/${body.metadata?.name}`, () => core.createNamespacedSecret({ namespace, body })),
      replace: (body) => {
        const name = body.metadata?.name ?? "";
        return c(`update secret ${namespace}/${name}`, () => core.replaceNamespacedSecret({ name, namespace, body }));
      },
    },
    leases: {
      get: (name) => orNull(c(`get lease ${namespace}/${name}`, () => coordination.readNamespacedLease({ name, namespace }))),
      create: (body) => c(`create lease ${namespace}/${body.metadata?.name}`, () => coordination.createNamespacedLease({ namespace, body })),
      replace: (body) => {
        const name = body.metadata?.name ?? "";
        return c(`update lease ${namespace}/${name}`, () => coordination.replaceNamespacedLease({ name, namespace, body }));
      },
      list: async (labelSelector) =>
        (await c(`list leases ${namespace} (${labelSelector})`, () => coordination.listNamespacedLease({ namespace, labelSelector }))).items,
      delete: async (name) => {
        await orNull(c(`delete lease ${namespace}/${name}`, () => coordination.deleteNamespacedLease({ name, namespace })));
      },
    },
    webhookConfigs: {
      get: (name) => orNull(c(`get mutatingwebhookconfiguration ${name}`, () => admission.readMutatingWebhookConfiguration({ name }))),
      listNamed: (name) =>
        c(`list mutatingwebhookconfigurations (${name})`, () => admission.listMutatingWebhookConfiguration({ fieldSelector: byName(name) })),
      patch: (name, ops) =>
        c(`patch mutatingwebhookconfiguration ${name}`, () =>
          admission.patchMutatingWebhookConfiguration({ name, body: ops as object[] }, jsonPatch),
        ),
    },
  };
}
