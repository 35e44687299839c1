/**
 * The ceiling of the bench: Node's own `http` module answering one fixed JSON record (the same
 * bytes the gateway answers for `GET /api/students/:id`), with no framework, routing or I/O.
 * Started by `bench/run.ts` as a process of its own: BARE_PORT, BARE_BODY.
 */
import { createServer } from "http";

const port = Number(process.env.BARE_PORT);
const body = Buffer.from(process.env.BARE_BODY ?? "{}");

createServer((_req, res) => {
  res.writeHead(200, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": body.length,
  });
  res.end(body);
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));
