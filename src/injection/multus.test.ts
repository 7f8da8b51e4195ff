import { describe, expect, it } from "@jest/globals";
import { DEFAULT_CONFIG } from "../config/config.js";
import { multusNetworksWarning, withMultusNetwork } from "./multus.js";

const ISTIO_CNI = '{"name": "istio-cni", "namespace": "default"}';

describe("withMultusNetwork (default/istio-cni)", () => {
  it.each([
    ["no annotation", undefined, "default/istio-cni"],
    ["an empty annotation", "", "default/istio-cni"],
    ["a flat list: appended", "alt_cni", "alt_cni, default/istio-cni"],
    ["a flat list of several", "a, kube-system/b", "a, kube-system/b, default/istio-cni"],
    ["a flat list that has it (spaces around it): unchanged", "a,  default/istio-cni ", "a,  default/istio-cni "],
    ["a flat list naming istio-cni without its namespace: appended, as istiod", "istio-cni", "istio-cni, default/istio-cni"],
    ["a JSON list: a new object before the bracket", '[{"name": "alt_cni"}]', `[{"name": "alt_cni"}, ${ISTIO_CNI}]`],
    [
      "a JSON list with namespaces, spacing kept",
      '[{"name": "alt_cni"}, {"name": "more_cni", "namespace": "kube-system"}]',
      `[{"name": "alt_cni"}, {"name": "more_cni", "namespace": "kube-system"}, ${ISTIO_CNI}]`,
    ],
    ["a JSON list that has it: unchanged", '[{"name":"istio-cni","namespace":"default","interface":"net1"}]', '[{"name":"istio-cni","namespace":"default","interface":"net1"}]'],
    ["a JSON list naming istio-cni in another namespace: appended", '[{"name": "istio-cni", "namespace": "kube-system"}]', `[{"name": "istio-cni", "namespace": "kube-system"}, ${ISTIO_CNI}]`],
    ["a JSON list naming istio-cni without a namespace: appended", '[{"name": "istio-cni"}]', `[{"name": "istio-cni"}, ${ISTIO_CNI}]`],
    ["a JSON list with null entries", '[null, {"name": "a"}]', `[null, {"name": "a"}, ${ISTIO_CNI}]`],
    ["a JSON list with text after the bracket", '[{"name": "a"}]\n', `[{"name": "a"}, ${ISTIO_CNI}]\n`],
    ["an empty JSON list: a list of the one network (istiod writes [, {…}], not JSON)", "[]", `[${ISTIO_CNI}]`],
  ])("%s", (_name, existing, value) => {
    const out = withMultusNetwork(existing);
    expect(out).toEqual({ value });
    if (out.value.includes("]")) expect(() => JSON.parse(out.value)).not.toThrow();
    // Adding it again changes nothing (re-injection).
    expect(withMultusNetwork(out.value)).toEqual({ value });
  });

  it.each([
    ["not valid JSON", '[{"name": "a"},]', "not valid JSON"],
    ["a flat value with a bracket", "net[1]", "not valid JSON"],
    ["a JSON object, not a list", '{"name": "a", "x": [1]}', "not a JSON list"],
    ["a JSON list of names, not of objects", '["a", "b"]', "not a JSON list of objects"],
  ])("leaves %s as it is, and says why (as istiod leaves it)", (_name, existing, unreadable) => {
    expect(withMultusNetwork(existing)).toEqual({ value: existing, unreadable });
  });

  it("names a network without a namespace by its name alone", () => {
    expect(withMultusNetwork('[{"name": "a"}]', "istio-cni")).toEqual({ value: '[{"name": "a"}, {"name": "istio-cni"}]' });
    expect(withMultusNetwork('[{"name": "istio-cni"}]', "istio-cni")).toEqual({ value: '[{"name": "istio-cni"}]' });
  });
});

describe("multusNetworksWarning", () => {
  const multus = { ...DEFAULT_CONFIG, cni: true, cniProvider: "multus" as const };
  const bad = { "k8s.v1.cni.cncf.io/networks": "[oops]" };
  it.each([
    ["Multus, an unreadable JSON value", multus, bad, true],
    ["Multus, a readable value", multus, { "k8s.v1.cni.cncf.io/networks": "a" }, false],
    ["Multus, no annotation", multus, undefined, false],
    ["CNI chained (not Multus)", { ...multus, cniProvider: "default" as const }, bad, false],
    ["Multus named but CNI off (as Istio: nothing added)", { ...multus, cni: false }, bad, false],
  ])("%s", (_name, config, annotations, warns) => {
    const r = multusNetworksWarning(config, annotations);
    expect(r !== null).toBe(warns);
    if (r !== null) {
      expect(r).toMatchObject({ code: "annotation_ignored", effect: "warn" });
      expect(r.message).toBe("k8s.v1.cni.cncf.io/networks is not valid JSON: left as is, without default/istio-cni (no traffic capture).");
    }
  });
});
