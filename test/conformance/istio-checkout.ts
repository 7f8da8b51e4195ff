/**
 * Read-only access to an Istio git checkout at one ref: `git show REF:PATH` and `git ls-tree`.
 * Nothing of Istio's is stored in this repository; the conformance runner reads it at run time.
 * DIR may be a work tree (with .git) or a bare git directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

export interface IstioCheckout {
  readonly ref: string;
  /** The file's text at the ref, or undefined when it does not exist there. */
  read(path: string): string | undefined;
  /** File names (not paths) directly under a folder at the ref. */
  list(folder: string): string[];
}

function gitDirOf(dir: string): string {
  const dotGit = join(dir, ".git");
  return existsSync(dotGit) && statSync(dotGit).isDirectory() ? dotGit : dir;
}

export function openCheckout(dir: string, ref: string): IstioCheckout {
  const gitDir = gitDirOf(dir);
  const git = (args: string[]): string =>
    execFileSync("git", ["--git-dir", gitDir, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
  try {
    git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new Error(`${dir}: no commit or tag ${ref} (is it an Istio checkout? try: git --git-dir ${gitDir} tag -l '1.30*')`);
  }
  const cache = new Map<string, string | undefined>();
  return {
    ref,
    read(path) {
      if (!cache.has(path)) {
        let text: string | undefined;
        try {
          text = git(["show", `${ref}:${path}`]);
        } catch {
          text = undefined;
        }
        cache.set(path, text);
      }
      return cache.get(path);
    },
    list(folder) {
      const prefix = folder.endsWith("/") ? folder : `${folder}/`;
      return git(["ls-tree", "--name-only", ref, prefix])
        .split("\n")
        .filter((l) => l !== "")
        .map((p) => p.slice(prefix.length));
    },
  };
}
