// Jest runs the TypeScript sources as native ES modules (see package.json "type": "module"),
// transformed by SWC; `npm test` starts node with --experimental-vm-modules for that.
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
  testMatch: ["<rootDir>/src/**/*.test.ts", "<rootDir>/test/**/*.test.ts"],
  // The real-cluster suite runs only through `npm run test:e2e` (it needs KUBECONFIG).
  testPathIgnorePatterns: process.env.SIDECAR_INJECTOR_E2E === "1" ? ["/node_modules/"] : ["/node_modules/", "/test/e2e/"],
  testTimeout: 30000,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
