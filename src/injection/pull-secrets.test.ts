import { describe, expect, it } from "@jest/globals";
import { pullSecretsWith } from "./pull-secrets.js";

const named = (...names: string[]) => names.map((name) => ({ name }));

describe("pullSecretsWith", () => {
  it.each([
    ["the pod has none", [], ["mesh"], ["mesh"]],
    ["ours go before the pod's (as istiod's strategic merge)", ["team"], ["mesh"], ["mesh", "team"]],
    ["several of ours, in the configured order", ["team"], ["b", "a"], ["b", "a", "team"]],
    ["one of ours the pod has already stays where the pod has it", ["team", "mesh"], ["mesh"], ["team", "mesh"]],
    ["the pod's one before ours stays before it; new ones of ours come first", ["mesh", "team"], ["new", "mesh"], ["new", "mesh", "team"]],
    ["ours listed twice are added once", [], ["mesh", "mesh"], ["mesh"]],
    ["nothing configured leaves the pod's as they are", ["b", "a"], [], ["b", "a"]],
    ["a name the pod lists twice is kept twice (nothing of the pod's is removed)", ["mirror", "mirror"], ["mirror", "mesh"], ["mirror", "mesh", "mirror"]],
  ])("%s", (_name, pod, ours, want) => {
    expect(pullSecretsWith(named(...pod), ours).map((s) => s.name)).toEqual(want);
  });

  it("keeps the pod's own entries (the same objects), so the patch adds only ours", () => {
    const team = { name: "team" };
    const mesh = { name: "mesh" };
    const out = pullSecretsWith([team, mesh], ["new", "mesh"]);
    expect(out[0]).toEqual({ name: "new" });
    expect(out[1]).toBe(team);
    expect(out[2]).toBe(mesh);
  });
});
