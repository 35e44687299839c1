/** Three projects: `npm test` runs unit + integration, `npm run test:cluster` the multi-process suite. */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };
// dist/ is `npm run build`'s output (what the image runs): the tests run the sources.
const project = {
  transform: tsJest,
  testEnvironment: "node",
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
};

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
      ...project,
    },
    {
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.spec.ts"],
      ...project,
    },
    {
      displayName: "cluster",
      testMatch: ["<rootDir>/test/cluster/**/*.spec.ts"],
      ...project,
    },
  ],
};
