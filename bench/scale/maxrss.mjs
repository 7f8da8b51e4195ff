// Preloaded (--import) into a CLI run by the scale benchmark: prints the process's peak resident
// memory at exit, where the benchmark reads it.
process.on("exit", () => {
  process.stderr.write(`\nMAXRSS_KB ${process.resourceUsage().maxRSS}\n`);
});
