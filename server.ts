/** `npm start`: one Campus node running the services named by SERVICES (all by default). */
import { ConfigError, loadConfig } from "./lib/config";
import { createNode } from "./lib/node";

async function main(): Promise<void> {
  const broker = createNode(loadConfig());
  await broker.start();
}

main().catch((err: Error) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
