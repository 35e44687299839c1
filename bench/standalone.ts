/**
 * One bench scenario run alone (`npx tsx bench/<scenario>.ts`): a fresh all-in-one node of the
 * services it needs on the machine's PostgreSQL, with production settings and a bootstrap
 * administrator, then everything stopped and dropped again. The exit code is the scenario's
 * verdict. `<NAME>_CPU_PROF=<dir>` (e.g. `QUIZ_BURST_CPU_PROF`) makes the node write a CPU profile
 * there when it stops.
 */
import { randomBytes } from "crypto";
import { BenchCluster, startNodes, stopNodes } from "./nodes";

export interface AloneNode {
  base: string;
  metricsUrl: string;
  pid: number;
  runId: string;
  admin: { email: string; password: string };
}

export function runAlone(
  name: string,
  services: string,
  scenario: (node: AloneNode) => Promise<boolean>,
): void {
  const profileDir = process.env[`${name.toUpperCase().replace(/-/g, "_")}_CPU_PROF`];
  const cluster = new BenchCluster();
  const admin = {
    email: `admin@${name}-${cluster.runId}.test`,
    password: randomBytes(18).toString("base64url"),
  };
  const run = async () => {
    await cluster.createDatabases();
    try {
      const [started] = await startNodes(cluster, "1 process", [
        {
          name,
          role: "all-in-one",
          services,
          nodeArgs: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
          env: {
            NODE_ENV: "production",
            LOG_LEVEL: "warn",
            LOG_FORMAT: "json",
            RATE_LIMIT_PER_MINUTE: "0",
            AUTH_RATE_LIMIT_PER_MINUTE: "0",
            JWT_SECRET: randomBytes(48).toString("base64url"),
            ADMIN_EMAIL: admin.email,
            ADMIN_PASSWORD: admin.password,
            NAMESPACE: cluster.namespace,
          },
        },
      ]);
      const ok = await scenario({
        base: `http://127.0.0.1:${started.node.port}`,
        metricsUrl: `http://127.0.0.1:${started.node.metricsPort}/metrics`,
        pid: started.node.process.pid!,
        runId: cluster.runId,
        admin,
      });
      process.exitCode = ok ? 0 : 1;
    } finally {
      await stopNodes(cluster, [...cluster.nodes.keys()]);
      await cluster.dropDatabases();
    }
  };
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
