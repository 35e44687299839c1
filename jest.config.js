/** Three projects: `npm test` runs unit + integration, `npm run test:cluster` the multi-process suite. */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", isolatedModules: true }] };

module.exports = {
  coverageDirectory: "coverage",
  collectCoverageFrom: [
    "lib/**/*.ts",
    "mixins/**/*.ts",
    "middlewares/**/*.ts",
    "services/**/*.ts",
    "migrations/**/*.ts",
  ],
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
      testTimeout: 60000,
    },
    {
      displayName: "cluster",
      testMatch: ["<rootDir>/test/cluster/**/*.spec.ts"],
      transform: tsJest,
      testEnvironment: "node",
      testTimeout: 300000,
    },
  ],
};
