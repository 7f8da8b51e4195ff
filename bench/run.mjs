// npm run bench: drive the injector and a bare node:https responder (the baseline, measured in
// the same run) over keep-alive HTTPS with autocannon, for three payload sizes at concurrency
// 1, 16 and 64. The bare responder runs twice: answering with a minimal review ("bare, tiny
// reply") and with the injector's own recorded answer to that payload ("bare, same reply"), so the
// second ratio measures reading and computing the answer, not moving its bytes. Prints req/s,
// p50, p99, both ratios, and the injector's peak RSS (per measurement and over the whole run).
// Env: BENCH_SECONDS (default 5) per run; BENCH_PAYLOADS (e.g. "typical,large") to pick payloads;
// BENCH_NODE_FLAGS replaces the node flags taken from the Dockerfile's ENTRYPOINT.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { PAYLOADS } from "./payloads.mjs";

const ROOT = join(import.meta.dirname, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = [1, 16, 64];

// Each server logs to a file, as it would to a container runtime's log: a pipe read by this
// (busy) load-generating process would throttle the server and measure the pipe instead.
function startChild(args, logFile, env = {}) {
  const out = openSync(logFile, "w");
  const child = spawn(process.execPath, args, { stdio: ["ignore", out, "inherit"], env: { PATH: process.env.PATH, ...env } });
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => reject(new Error(`child exited with ${code}`)));
    const timer = setInterval(() => {
      for (const line of readFileSync(logFile, "utf8").split("\n")) {
        if (!line.trim().startsWith("{")) continue;
        const msg = JSON.parse(line);
        if (typeof msg.port === "number" && (msg.msg === undefined || msg.msg === "sidecar-injector listening")) {
          clearInterval(timer);
          resolve({ child, port: msg.port });
          return;
        }
      }
    }, 50);
  });
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function record(port, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/inject", method: "POST", ca: readFileSync(join(dir, "ca.crt")), servername: "localhost", headers: { "content-type": "application/json" } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// "distinct": every request carries another pod (one annotation value changes), so the
// injector's replay cache never answers; otherwise every request is the same pod, as when a
// ReplicaSet scales up.
const DISTINCT_MARK = '"team.example/owner":"reviews"';
async function drive(port, path, body, connections, seconds = SECONDS, distinct = false) {
  let n = 0;
  const result = await autocannon({
    url: `https://127.0.0.1:${port}${path}`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
    ...(distinct && {
      requests: [{ setupRequest: (req) => ({ ...req, body: body.replace(DISTINCT_MARK, `"team.example/owner":"reviews-${n++}"`) }) }],
    }),
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

/**
 * The node flags the image starts the injector with (the Dockerfile's ENTRYPOINT, before
 * dist/cli.js), so the benchmark measures the process as deployed; BENCH_NODE_FLAGS replaces them.
 */
function nodeFlags() {
  if (process.env.BENCH_NODE_FLAGS !== undefined) return process.env.BENCH_NODE_FLAGS.split(" ").filter(Boolean);
  const line = readFileSync(join(ROOT, "Dockerfile"), "utf8").split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  const argv = JSON.parse(line?.slice("ENTRYPOINT ".length) ?? "null");
  if (!Array.isArray(argv) || argv[0] !== "node" || !argv.includes("dist/cli.js")) throw new Error(`unexpected Dockerfile ENTRYPOINT: ${line}`);
  return argv.slice(1, argv.indexOf("dist/cli.js"));
}

const dir = mkdtempSync(join(tmpdir(), "bench-certs-"));
const flags = nodeFlags();
const injector = await startChild([...flags, join(ROOT, "dist", "cli.js"), "serve", "--port", "0", "--cert-dir", dir], join(dir, "injector.log"), { LOG_LEVEL: "info" });
for (const [name, review] of Object.entries(PAYLOADS)) {
  writeFileSync(join(dir, `${name}.response.json`), await record(injector.port, JSON.stringify(review)));
}
const bare = await startChild([join(ROOT, "bench", "bare-responder.mjs"), dir], join(dir, "bare.log"));
let peakRss = rssMiB(injector.child.pid);
let rowPeak = 0;
const sampler = setInterval(() => {
  const now = rssMiB(injector.child.pid);
  peakRss = Math.max(peakRss, now);
  rowPeak = Math.max(rowPeak, now);
}, 100);

const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`machine: ${machine}`);
console.log(`injector: node ${[...flags, "dist/cli.js", "serve"].join(" ")}`);
console.log(`load: autocannon, keep-alive HTTPS, ${SECONDS} s per run after a 1 s warm-up, pipelining 1`);
const rows = [];
const picked = (process.env.BENCH_PAYLOADS ?? [...Object.keys(PAYLOADS), "typical-distinct"].join(",")).split(",");
const runs = [...Object.entries(PAYLOADS), ["typical-distinct", PAYLOADS.typical]].filter(([n]) => picked.includes(n));
for (const [name, review] of runs) {
  const distinct = name.endsWith("-distinct");
  const body = JSON.stringify(review);
  if (distinct && !body.includes(DISTINCT_MARK)) throw new Error("the typical payload lost the annotation the distinct run varies");
  const path = `/inject?payload=${name.replace(/-distinct$/, "")}`;
  const replyKB = (readFileSync(join(dir, `${name.replace(/-distinct$/, "")}.response.json`)).length / 1024).toFixed(1);
  for (const c of CONCURRENCY) {
    await drive(injector.port, path, body, c, 1); // warm-up
    await drive(bare.port, path, body, c, 1);
    // The baselines get the same requests as the injector: in a distinct row, the load generator
    // rebuilds every request for them too.
    const tiny = await drive(bare.port, "/inject", body, c, SECONDS, distinct);
    const same = await drive(bare.port, path, body, c, SECONDS, distinct);
    rowPeak = 0;
    const ours = await drive(injector.port, path, body, c, SECONDS, distinct);
    rows.push({
      payload: `${distinct ? "typical, every pod distinct" : name} (${(Buffer.byteLength(body) / 1024).toFixed(1)} KB → ${replyKB} KB)`,
      conc: c,
      tinyRps: Math.round(tiny.rps),
      sameRps: Math.round(same.rps),
      sameP99: same.p99,
      rps: Math.round(ours.rps),
      p50: ours.p50,
      p99: ours.p99,
      ratio: (ours.rps / same.rps).toFixed(2),
      ratioTiny: (ours.rps / tiny.rps).toFixed(2),
      errors: ours.errors,
      rss: Math.round(rowPeak),
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
clearInterval(sampler);
console.log("\n| payload (request → reply) | conc | bare, tiny reply req/s | bare, same reply req/s | bare p99 ms | injector req/s | p50 ms | p99 ms | ratio to same reply | ratio to tiny reply | errors | peak RSS MiB |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.payload} | ${r.conc} | ${r.tinyRps} | ${r.sameRps} | ${r.sameP99} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.ratio} | ${r.ratioTiny} | ${r.errors} | ${r.rss} |`);
}
console.log(`\ninjector peak RSS: ${peakRss.toFixed(0)} MiB`);
injector.child.kill("SIGTERM");
bare.child.kill("SIGTERM");
rmSync(dir, { recursive: true, force: true });
