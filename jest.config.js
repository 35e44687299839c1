/** Three projects: `npm test` runs unit + integration, `npm run test:cluster` the multi-process suite. */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };

module.exports = {
  // Integration suites start a broker on an embedded PostgreSQL; cluster suites raise their own.
  testTimeout: 60000,
  coverageDirectory: "coverage",
  collectCoverageFrom: ["lib/**/*.ts", "mixins/**/*.ts", "middlewares/**/*.ts", "services/**/*.ts"],
  coverageReporters: ["text-summary", "text", "json-summary"],
  projects: [
    {
      displayName: "unit",
      testMatch: ["<rootDir>/test/unit/**/*.spec.ts"],
      transform: tsJest,
      testEnvironment: "node",
    },
    {
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.spec.ts"],
      transform: tsJest,
      testEnvironment: "node",
    },
    {
      displayName: "cluster",
      testMatch: ["<rootDir>/test/cluster/**/*.spec.ts"],
      transform: tsJest,
      testEnvironment: "node",
    },
  ],
};
