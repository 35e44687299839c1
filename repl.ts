/**
 * `npm run repl`: a Moleculer REPL. With TRANSPORTER set it joins the cluster as a node that runs
 * no service (call anything, list nodes, watch events); without, it starts the all-in-one process.
 */
import { ConfigError, loadConfig } from "./lib/config";
import { createNode } from "./lib/node";

async function main(): Promise<void> {
  const config = loadConfig();
  const joinCluster = config.transporter !== null;
  const broker = createNode(
    {
      ...config,
      nodeID: config.nodeID ?? `repl-${process.pid}`,
      port: joinCluster ? 0 : config.port,
    },
    joinCluster ? [] : config.services,
  );
  await broker.start();
  await broker.repl();
}

main().catch((err: Error) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
