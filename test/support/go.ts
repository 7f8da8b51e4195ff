/**
 * Go programs in the test suite (standard library, and Debian's packaged Go libraries under
 * /usr/share/gocode): they read our output the way kube-apiserver reads it. `.ci/run` installs Go
 * from Debian's packages, best effort; suites that need it say they skipped when it is absent.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const GOPATH = "/usr/share/gocode";
const ROOT = join(import.meta.dirname, "..", "..");

export const hasGo = spawnSync("go", ["version"]).status === 0;

/** Print the suite's skip notice once, in the same words everywhere. */
export function sayGoSkipped(suite: string, missing: string): void {
  process.stdout.write(`${suite}: SKIPPED — ${missing}; .ci/run installs golang-go (and golang-github-evanphx-json-patch-dev) from Debian's packages.\n`);
}

export interface GoBuild {
  /** Path of the built binary. */
  readonly binary: string;
  /** Remove the build folder. */
  cleanup(): void;
}

/** Build test/support/<program>/main.go (GOPATH mode, no module downloads) into a temporary folder. */
export function buildGoProgram(program: string): GoBuild {
  const dir = mkdtempSync(join(tmpdir(), `${program}-`));
  const binary = join(dir, program);
  execFileSync("go", ["build", "-o", binary, join(ROOT, "test", "support", program, "main.go")], {
    env: { ...process.env, GO111MODULE: "off", GOPATH, GOCACHE: join(dir, "cache"), GOFLAGS: "" },
    stdio: "pipe",
  });
  return { binary, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
