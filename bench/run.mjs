// npm run bench: drive the injector and two baselines, measured in the same run, over keep-alive
// HTTPS with autocannon, for four payloads at concurrency 1 and 16 (and 64 for typical). Each
// payload is sent twice: the same pod in every request (the replay cache answers the second and
// later, as for a ReplicaSet's replicas) and a pod never seen before in every request ("new pods":
// one annotation value changes, so every review is computed from scratch).
// Baselines: a bare node:https responder that answers with the injector's own recorded reply to
// that payload without parsing anything ("bare"), and a minimal hand-written injector that parses
// the review and builds its patch by hand ("minimal", bench/minimal-injector.mjs).
// Where taskset exists, the servers run on CPU 1 and this load generator on CPU 0.
// Prints req/s, p50, p99, the ratios, and the injector's peak RSS (per row and over the whole run).
// Each server is warmed up before each row (BENCH_WARMUP seconds of the row's own load), so a row
// measures the steady state; the servers are then measured in alternating turns (BENCH_TURNS per
// server, the order rotated), so a drift of the host's speed falls on all of them alike. The
// "start" row measures the other case: fresh processes of the injector and the minimal one, under
// typical new pods at concurrency 1 from their first request.
// Env: BENCH_SECONDS (default 5) per server and row; BENCH_TURNS (default 4); BENCH_WARMUP
// (default 5); BENCH_PAYLOADS (e.g. "typical,large-env-new,start") to pick rows;
// BENCH_NODE_FLAGS replaces the node flags taken from the Dockerfile's ENTRYPOINT.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { DISTINCT_MARK, PAYLOADS } from "./payloads.mjs";

const ROOT = join(import.meta.dirname, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
// V8 compiles the pipeline's larger functions only after a few thousand reviews at one connection
// (a function tiers up after a number of executions that grows with its size): with 2 s, part of
// that compilation fell inside the measured seconds of a payload's first rows.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
// Each row's seconds are measured in this many turns per server (see measure()), of 1 s at least.
const TURNS = Math.max(1, Math.min(Number(process.env.BENCH_TURNS ?? 4), Math.floor(SECONDS)));
const concurrencyOf = (payload) => (payload === "typical" ? [1, 16, 64] : [1, 16]);

// One core for the load generator, the other for the server under load, when the machine has two
// and taskset is installed; otherwise they share the cores (and the report says so).
const pinned = cpus().length >= 2 && spawnSync("taskset", ["-p", "-c", "0", String(process.pid)], { stdio: "ignore" }).status === 0;

// Each server logs to a file, as it would to a container runtime's log: a pipe read by this
// (busy) load-generating process would throttle the server and measure the pipe instead.
function startChild(args, logFile, env = {}) {
  const out = openSync(logFile, "w");
  const [cmd, argv] = pinned ? ["taskset", ["-c", "1", process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(cmd, argv, { stdio: ["ignore", out, "inherit"], env: { PATH: process.env.PATH, ...env } });
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

/** SIGTERM a child and wait for it to exit (the injector drains before it does). */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
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
// ReplicaSet scales up. Returns the requests answered, the seconds they took, and each response's
// latency but for the first on each connection (it waits for the TLS handshake; the API server
// keeps its webhook connections alive).
async function drive(port, path, body, connections, seconds = SECONDS, distinct = false) {
  let n = 0;
  const instance = autocannon({
    url: `https://127.0.0.1:${port}${path}`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
    ...(distinct && {
      requests: [{ setupRequest: (req) => ({ ...req, body: body.replace(DISTINCT_MARK, `${DISTINCT_MARK}${n++}-`) }) }],
    }),
  });
  // autocannon's own percentiles are whole milliseconds; the response event has the float value.
  const times = [];
  const answered = new Set();
  instance.on("response", (client, status, _bytes, ms) => {
    if (!answered.has(client)) answered.add(client);
    else if (status < 300) times.push(ms);
  });
  const result = await instance;
  return { requests: result.requests.total, seconds: result.duration, times, errors: result.errors + result.non2xx };
}

/** req/s, p50 and p99 (ms) over one server's turns. */
function summary(turns) {
  const times = turns.flatMap((t) => t.times).sort((a, b) => a - b);
  const at = (q) => (times.length === 0 ? NaN : Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))] * 100) / 100);
  const seconds = turns.reduce((s, t) => s + t.seconds, 0);
  const requests = turns.reduce((s, t) => s + t.requests, 0);
  return { rps: requests / seconds, p50: at(0.5), p99: at(0.99), errors: turns.reduce((s, t) => s + t.errors, 0) };
}

/**
 * Measure servers in alternating turns: TURNS rounds, each giving every server SECONDS / TURNS
 * seconds of the same load, the order rotated from round to round. This host's speed drifts by
 * 15-30 % over tens of seconds; servers measured one after the other in one window each took that
 * drift into their ratio, where turns spread it over all of them.
 */
async function measure(servers, path, body, c, distinct) {
  const turns = servers.map(() => []);
  const slice = SECONDS / TURNS;
  for (let round = 0; round < TURNS; round++) {
    for (let k = 0; k < servers.length; k++) {
      const i = (k + round) % servers.length;
      turns[i].push(await drive(servers[i].port, path, body, c, slice, distinct));
    }
  }
  return turns.map(summary);
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
const minimal = await startChild([join(ROOT, "bench", "minimal-injector.mjs"), dir], join(dir, "minimal.log"));
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
console.log(`load: autocannon, keep-alive HTTPS, pipelining 1; per row, a ${WARMUP} s warm-up of each server, then ${SECONDS} s per server in ${TURNS} alternating turns`);
console.log(pinned ? "cores: load generator on CPU 0, the server under load on CPU 1 (taskset)" : "cores: not pinned (taskset missing or one CPU): load generator and servers share the cores");
const rows = [];
const all = [...Object.keys(PAYLOADS).flatMap((n) => [n, `${n}-new`]), "start"];
const picked = (process.env.BENCH_PAYLOADS ?? all.join(",")).split(",");
const unknown = picked.filter((p) => !all.includes(p));
if (unknown.length > 0) throw new Error(`unknown BENCH_PAYLOADS ${unknown.join(", ")}; known: ${all.join(", ")}`);
for (const row of all.filter((n) => picked.includes(n) && n !== "start")) {
  const distinct = row.endsWith("-new");
  const name = distinct ? row.slice(0, -"-new".length) : row;
  const body = JSON.stringify(PAYLOADS[name]);
  const path = `/inject?payload=${name}`;
  const replyKB = (readFileSync(join(dir, `${name}.response.json`)).length / 1024).toFixed(1);
  for (const c of concurrencyOf(name)) {
    for (const server of [injector, bare, minimal]) await drive(server.port, path, body, c, WARMUP, distinct); // warm-up
    // The baselines get the same requests as the injector: in a new-pods row, the load generator
    // rebuilds every request for them too.
    rowPeak = 0;
    const [same, hand, ours] = await measure([bare, minimal, injector], path, body, c, distinct);
    rows.push({
      payload: `${name}${distinct ? ", new pods" : ", same pod"} (${(Buffer.byteLength(body) / 1024).toFixed(1)} KB → ${replyKB} KB)`,
      conc: c,
      bare: Math.round(same.rps),
      minimal: Math.round(hand.rps),
      minimalP50: hand.p50,
      minimalP99: hand.p99,
      rps: Math.round(ours.rps),
      p50: ours.p50,
      p99: ours.p99,
      toMinimal: (ours.rps / hand.rps).toFixed(2),
      toBare: (ours.rps / same.rps).toFixed(2),
      errors: ours.errors + hand.errors + same.errors,
      rss: Math.round(rowPeak),
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
clearInterval(sampler);
await Promise.all([injector, bare, minimal].map((server) => stop(server.child)));

// The first seconds of a process: a new replica of the injector (or one restarted) answers its
// first reviews before V8 has compiled the pipeline. Fresh processes, typical new pods at one
// connection from the first request; the minimal injector starts fresh too.
let start = null;
if (picked.includes("start")) {
  const body = JSON.stringify(PAYLOADS.typical);
  const path = "/inject?payload=typical";
  const freshMinimal = await startChild([join(ROOT, "bench", "minimal-injector.mjs"), dir], join(dir, "minimal-start.log"));
  const hand = summary([await drive(freshMinimal.port, path, body, 1, SECONDS, true)]);
  await stop(freshMinimal.child);
  const freshInjector = await startChild([...flags, join(ROOT, "dist", "cli.js"), "serve", "--port", "0", "--cert-dir", dir], join(dir, "injector-start.log"), { LOG_LEVEL: "info" });
  const ours = summary([await drive(freshInjector.port, path, body, 1, SECONDS, true)]);
  await stop(freshInjector.child);
  start = { minimal: Math.round(hand.rps), minimalP50: hand.p50, minimalP99: hand.p99, rps: Math.round(ours.rps), p50: ours.p50, p99: ours.p99, toMinimal: (ours.rps / hand.rps).toFixed(2), errors: ours.errors + hand.errors };
  console.log(JSON.stringify({ start }));
}
console.log("\n| payload (request → reply) | conc | bare req/s | minimal req/s · p50 / p99 ms | injector req/s · p50 / p99 ms | injector / minimal | injector / bare | errors | peak RSS MiB |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.payload} | ${r.conc} | ${r.bare} | ${r.minimal} · ${r.minimalP50} / ${r.minimalP99} | ${r.rps} · ${r.p50} / ${r.p99} | ${r.toMinimal} | ${r.toBare} | ${r.errors} | ${r.rss} |`);
}
if (start !== null) {
  console.log(`\n| first ${SECONDS} s after a start (typical, new pods, conc 1) | minimal req/s · p50 / p99 ms | injector req/s · p50 / p99 ms | injector / minimal | errors |`);
  console.log("|---|---|---|---|---|");
  console.log(`| fresh processes, no warm-up | ${start.minimal} · ${start.minimalP50} / ${start.minimalP99} | ${start.rps} · ${start.p50} / ${start.p99} | ${start.toMinimal} | ${start.errors} |`);
}
console.log(`\ninjector peak RSS: ${peakRss.toFixed(0)} MiB`);
rmSync(dir, { recursive: true, force: true });
