// Jest runs the TypeScript sources as native ES modules (see package.json "type": "module"),
// transformed by SWC; `npm test` starts node with --experimental-vm-modules for that.
const e2e = process.env.SIDECAR_INJECTOR_E2E === "1";

/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2022" },
        module: { type: "es6" },
        sourceMaps: "inline",
      },
    ],
  },
  // Sources import siblings as "./x.js" (NodeNext); map those to the .ts files.
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  // The real-cluster suites run only through `npm run test:e2e` (they need KUBECONFIG), and then
  // alone: `npm run test:e2e -- <pattern>` narrows them further.
  testMatch: e2e ? ["<rootDir>/test/e2e/**/*.e2e.test.ts"] : ["<rootDir>/src/**/*.test.ts", "<rootDir>/test/**/*.test.ts"],
  testPathIgnorePatterns: e2e ? ["/node_modules/"] : ["/node_modules/", "/test/e2e/"],
  testTimeout: 30000,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
