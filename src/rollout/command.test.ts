import { describe, expect, it } from "@jest/globals";
import { progressReporter } from "./command.js";
import type { RolloutEvent } from "./execute.js";
import type { PlannedRestart, RolloutPlan } from "./plan.js";

const restart = (name: string): PlannedRestart => ({
  object: `Deployment/shop/${name}`,
  kind: "Deployment",
  namespace: "shop",
  name,
  findings: { missing_sidecar: 2 },
  why: "2 pods missing the sidecar",
  from: ["no sidecar"],
  to: "template abc, image proxy",
  command: "",
  undo: `kubectl rollout undo deployment/${name} -n shop`,
});
const web = restart("web");
const api = restart("api");
const plan: RolloutPlan = { scope: { namespace: "shop", target: null, for: ["missing"] }, restarts: [web, api], untouched: [] };
const waiting = { done: false, failed: false, message: 'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...', ready: 1, desired: 2 };
const events: RolloutEvent[] = [
  { type: "started", restart: web, restartedAt: "2026-12-06T18:00:00Z" },
  { type: "started", restart: api, restartedAt: "2026-12-06T18:00:00Z" },
  { type: "progress", restart: web, status: waiting, elapsedMs: 3_000 },
  { type: "progress", restart: web, status: waiting, elapsedMs: 4_000 },
  { type: "finished", restart: web, result: { object: web.object, outcome: "done", message: 'deployment "web" successfully rolled out', elapsedSeconds: 5, ready: 2, desired: 2 } },
];

function capture(isTTY: boolean): string {
  let out = "";
  const report = progressReporter({ isTTY, stdout: (t) => void (out += t) }, plan);
  events.forEach(report);
  return out;
}

describe("rollout progress", () => {
  it("plain lines when not a terminal: one per change, no escape codes", () => {
    expect(capture(false)).toBe(
      [
        "[1/2] Deployment/shop/web: restarted (restartedAt 2026-12-06T18:00:00Z)",
        "[2/2] Deployment/shop/api: restarted (restartedAt 2026-12-06T18:00:00Z)",
        '[1/2] Deployment/shop/web: 1/2 ready: Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...',
        '[1/2] Deployment/shop/web: done: deployment "web" successfully rolled out',
        "",
      ].join("\n"),
    );
  });

  it("on a terminal: one live line per workload in flight, redrawn in place, with elapsed time and ready/desired", () => {
    const out = capture(true);
    expect(out).toContain("\x1b[2A"); // back over the two live lines to redraw them
    expect(out).toContain("\x1b[2K[1/2] Deployment/shop/web  4s  1/2 ready  Waiting for deployment");
    // What is still on screen: the finished line, then the one workload still in flight.
    const screen = out.slice(out.lastIndexOf("\x1b[2A\x1b[J") + "\x1b[2A\x1b[J".length);
    expect(screen.replaceAll("\x1b[2K", "").replaceAll("\x1b[J", "")).toBe('[1/2] Deployment/shop/web  5s  done: deployment "web" successfully rolled out\n[2/2] Deployment/shop/api  0s  restarted\n');
  });
});
