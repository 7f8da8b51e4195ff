/**
 * The Dockerfile, linted for the rules we keep (no container engine is needed): pinned base
 * images, a multi-stage build whose runtime installs production dependencies only, a non-root
 * numeric user, exec-form entrypoint with `serve` as the default command, and nothing secret copied.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";

const ROOT = join(import.meta.dirname, "..", "..");
const lines = readFileSync(join(ROOT, "Dockerfile"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));
const stages = lines.reduce<string[][]>((acc, l) => {
  if (l.startsWith("FROM ")) acc.push([]);
  acc.at(-1)?.push(l);
  return acc;
}, []);
const runtime = stages.at(-1) ?? [];
const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());

describe("Dockerfile", () => {
  it("is multi-stage and pins every base image (no latest)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of lines.filter((l) => l.startsWith("FROM "))) {
      const image = from.split(/\s+/)[1] ?? "";
      expect({ from, pinned: /:[0-9][^:]*$/.test(image) || image.includes("@sha256:") }).toEqual({ from, pinned: true });
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it("installs production dependencies only in the runtime stage and copies only the build output", () => {
    expect(runtime.some((l) => /^RUN npm ci .*--omit=dev/.test(l))).toBe(true);
    const copies = runtime.filter((l) => l.startsWith("COPY "));
    expect(copies.every((l) => /package(-lock)?\.json|--from=build \/app\/dist/.test(l))).toBe(true);
  });

  it("the build stage builds what npm run build builds: the server and the preview page's browser code", () => {
    const build = stages[0] ?? [];
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toContain("tsc -p src/page/tsconfig.json");
    expect(build).toContain("RUN npm run build");
    expect(build.some((l) => /^COPY src \.\/src$/.test(l))).toBe(true);
  });

  it("runs as a non-root numeric user", () => {
    const user = runtime.filter((l) => l.startsWith("USER ")).at(-1);
    expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/);
  });

  it("runs under an arbitrary UID too (OpenShift): group 0, files readable without owning them", () => {
    // OpenShift runs the image with a UID from the namespace's range and GID 0: the app files
    // (root-owned, world-readable as COPY and npm leave them) must stay readable, and the
    // process needs to write nothing in the image.
    expect(runtime.filter((l) => l.startsWith("USER ")).at(-1)).toMatch(/^USER [1-9]\d*:0$/);
    for (const l of runtime) expect(l).not.toMatch(/\bchmod\b.*\b[0-7]?[0-7][0-7]0\b|\bchmod\b.*o-r|\bchown\b|--chown/);
    expect(runtime.some((l) => l.startsWith("VOLUME "))).toBe(false);
  });

  it("starts node in exec form with serve as the default command, with the node flags of npm start", () => {
    expect(runtime.find((l) => l.startsWith("ENTRYPOINT "))).toBe('ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/cli.js"]');
    expect(runtime.find((l) => l.startsWith("CMD "))).toBe('CMD ["serve"]');
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe("node --max-semi-space-size=8 dist/cli.js serve");
  });

  it("copies no keys, certificates or env files, and ignores them", () => {
    for (const l of lines.filter((x) => x.startsWith("COPY ") || x.startsWith("ADD "))) expect(l).not.toMatch(/certs|\.key|\.pem|\.env/);
    expect(lines.some((l) => l.startsWith("ADD "))).toBe(false);
    for (const entry of ["certs", "node_modules", ".git", "*.key"]) expect(ignore).toContain(entry);
  });

  it("exposes the server's default port", async () => {
    const { DEFAULT_CONFIG } = await import("../../src/config/config.js");
    expect(runtime).toContain(`EXPOSE ${DEFAULT_CONFIG.server.port}`);
  });
});
