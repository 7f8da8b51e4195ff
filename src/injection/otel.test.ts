import { describe, expect, it } from "@jest/globals";
import { imageTagAndDigest, otelResourceAttributes } from "./otel.js";
import type { Container, Pod } from "./pod.js";

function pod(opts: { annotations?: Record<string, string>; labels?: Record<string, string>; containers?: Container[] }): Pod {
  return {
    metadata: { ...(opts.annotations && { annotations: opts.annotations }), ...(opts.labels && { labels: opts.labels }) },
    spec: { containers: opts.containers ?? [{ name: "app", image: "app" }] },
  };
}

describe("otelResourceAttributes", () => {
  it.each([
    ["the namespace and the first container, the image without a tag", pod({}), "shop", "service.namespace=shop,service.instance.id=shop.$(POD_NAME).app"],
    ["the version from app.kubernetes.io/version", pod({ labels: { "app.kubernetes.io/version": "v1.2.3" } }), "default", "service.namespace=default,service.version=v1.2.3,service.instance.id=default.$(POD_NAME).app"],
    ["the version from the one container's tag", pod({ containers: [{ name: "web", image: "r.example:5000/web:1.0" }] }), "ns", "service.namespace=ns,service.version=1.0,service.instance.id=ns.$(POD_NAME).web"],
    ["the version from tag and digest", pod({ containers: [{ name: "web", image: "web:1.0@sha256:abc" }] }), "ns", "service.namespace=ns,service.version=1.0@sha256:abc,service.instance.id=ns.$(POD_NAME).web"],
    ["the version from a digest alone", pod({ containers: [{ name: "web", image: "web@sha256:abc" }] }), "ns", "service.namespace=ns,service.version=sha256:abc,service.instance.id=ns.$(POD_NAME).web"],
    [
      "no version from images when there are two containers; the first names the instance",
      pod({ containers: [{ name: "a", image: "a:1" }, { name: "b", image: "b:2" }] }),
      "ns",
      "service.namespace=ns,service.instance.id=ns.$(POD_NAME).a",
    ],
    [
      "the pod's annotations win over everything",
      pod({
        annotations: {
          "resource.opentelemetry.io/service.namespace": "team",
          "resource.opentelemetry.io/service.version": "2.0",
          "resource.opentelemetry.io/service.instance.id": "web-1",
        },
        labels: { "app.kubernetes.io/version": "v1" },
        containers: [{ name: "web", image: "web:1.0" }],
      }),
      "ns",
      "service.namespace=team,service.version=2.0,service.instance.id=web-1",
    ],
    [
      "empty annotations and labels count as absent",
      pod({ annotations: { "resource.opentelemetry.io/service.namespace": "", "resource.opentelemetry.io/service.version": "" }, labels: { "app.kubernetes.io/version": "" }, containers: [{ name: "web", image: "web:3" }] }),
      "ns",
      "service.namespace=ns,service.version=3,service.instance.id=ns.$(POD_NAME).web",
    ],
    ["an instance id that keeps the namespace, not the annotated service namespace", pod({ annotations: { "resource.opentelemetry.io/service.namespace": "team" } }), "ns", "service.namespace=team,service.instance.id=ns.$(POD_NAME).app"],
    ["no namespace known: none given, as istiod", pod({}), "", "service.instance.id=.$(POD_NAME).app"],
    ["no containers: the namespace alone", pod({ containers: [] }), "ns", "service.namespace=ns"],
  ])("%s", (_name, p, namespace, want) => {
    expect(otelResourceAttributes(p, namespace)).toBe(want);
  });
});

describe("imageTagAndDigest", () => {
  it.each([
    ["nginx", "", ""],
    ["nginx:1.27", "1.27", ""],
    ["nginx@sha256:abc", "", "sha256:abc"],
    ["nginx:1.27@sha256:abc", "1.27", "sha256:abc"],
    ["registry.example:5000/nginx", "", ""],
    ["registry.example:5000/team/nginx:1.27", "1.27", ""],
    ["", "", ""],
  ])("%s", (image, tag, digest) => {
    expect(imageTagAndDigest(image)).toEqual({ tag, digest });
  });
});
