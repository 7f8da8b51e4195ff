/**
 * OpenTelemetry's semantic conventions for the service attributes of a Kubernetes workload
 * (`otelSemanticConventions`, Istio's `serviceAttributeEnrichment: OTEL_SEMANTIC_CONVENTIONS`):
 * the proxy's OTEL_RESOURCE_ATTRIBUTES, built from the pod as istiod builds it. Pure.
 *
 * - `service.namespace`: the pod's `resource.opentelemetry.io/service.namespace`, else its namespace;
 * - `service.version`: the pod's `resource.opentelemetry.io/service.version`, else its label
 *   `app.kubernetes.io/version`, else, for a pod of one container, that container image's tag
 *   and/or digest (`tag@digest`);
 * - `service.instance.id`: the pod's `resource.opentelemetry.io/service.instance.id`, else
 *   `<namespace>.$(POD_NAME).<first container>`: the pod's name is not known at admission (a
 *   controller's pods are named by the API server), so the kubelet fills it in from the proxy's
 *   POD_NAME, which comes earlier in its env.
 *
 * Empty values count as absent; an attribute with no value is left out.
 */
import { Annotation, Label } from "../config/config.js";
import { type Pod, lookup } from "./pod.js";

export const OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES";

const given = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value);

/** The tag and digest of an image reference (`[registry[:port]/]name[:tag][@digest]`), "" where absent. */
export function imageTagAndDigest(image: string): { tag: string; digest: string } {
  const at = image.indexOf("@");
  const digest = at < 0 ? "" : image.slice(at + 1);
  const ref = at < 0 ? image : image.slice(0, at);
  // A tag follows the last ":" after the last "/" (a ":" before it belongs to a registry's port).
  const colon = ref.lastIndexOf(":");
  return { tag: colon > ref.lastIndexOf("/") ? ref.slice(colon + 1) : "", digest };
}

/** A version from the image: `tag@digest`, the digest, the tag, or undefined when it has neither. */
function versionOfImage(image: unknown): string | undefined {
  const { tag, digest } = imageTagAndDigest(typeof image === "string" ? image : "");
  if (tag !== "" && digest !== "") return `${tag}@${digest}`;
  return given(digest) ?? given(tag);
}

/** OTEL_RESOURCE_ATTRIBUTES for a pod in `namespace`: `key=value` pairs, comma-separated ("" for none). */
export function otelResourceAttributes(pod: Pod, namespace: string): string {
  const annotations = pod.metadata.annotations;
  const containers = pod.spec.containers;
  const attributes: string[] = [];
  const serviceNamespace = given(lookup(annotations, Annotation.OtelServiceNamespace)) ?? given(namespace);
  if (serviceNamespace !== undefined) attributes.push(`service.namespace=${serviceNamespace}`);
  const version =
    given(lookup(annotations, Annotation.OtelServiceVersion)) ??
    given(lookup(pod.metadata.labels, Label.AppVersion)) ??
    (containers.length === 1 ? versionOfImage(containers[0]?.image) : undefined);
  if (version !== undefined) attributes.push(`service.version=${version}`);
  const first = containers[0];
  const instance = given(lookup(annotations, Annotation.OtelServiceInstanceId)) ?? (first === undefined ? undefined : `${namespace}.$(POD_NAME).${first.name}`);
  if (instance !== undefined) attributes.push(`service.instance.id=${instance}`);
  return attributes.join(",");
}
