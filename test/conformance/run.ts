/**
 * `npm run conformance -- --istio-src DIR [--ref 1.30.3] [--case TEXT] [--verbose] [--all-aspects] [--json|--markdown]`
 * Runs Istio's injection testdata from an Istio git checkout through our pipeline and prints, per
 * case and aspect, what is equal and what differs. Exit code 0 (the report is the result), 2 on
 * bad usage or an unreadable checkout.
 */
import { parseArgs } from "node:util";
import { openCheckout } from "./istio-checkout.js";
import { formatReport, markdownRows, runConformance } from "./runner.js";

const USAGE = "usage: npm run conformance -- --istio-src DIR [--ref 1.30.3] [--case TEXT] [--verbose] [--all-aspects] [--json|--markdown]";

function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        "istio-src": { type: "string" },
        ref: { type: "string", default: "1.30.3" },
        case: { type: "string" },
        verbose: { type: "boolean", default: false },
        "all-aspects": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        markdown: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const src = args["istio-src"] ?? process.env.ISTIO_SRC;
  if (!src) {
    process.stderr.write(`--istio-src is required (or ISTIO_SRC)\n${USAGE}\n`);
    return 2;
  }
  let report;
  try {
    const checkout = openCheckout(src, args.ref ?? "1.30.3");
    const filter = args.case;
    report = runConformance(checkout, filter === undefined ? undefined : (c) => c.id.includes(filter) || c.input.includes(filter));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (args.markdown) process.stdout.write(`${markdownRows(report)}\n`);
  else if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(formatReport(report, { verbose: args.verbose ?? false, allAspects: args["all-aspects"] ?? false }));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
