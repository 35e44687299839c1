import autocannon from "autocannon";
import { login } from "./test/cluster/harness";
import { runAlone } from "./bench/standalone";
import { seedGradebook } from "./bench/seed";

runAlone(
  "gb-prof",
  "api,students,courses,users,notifications,assignments,gradebook",
  async (node) => {
    const token = await login(node.base, node.admin);
    const t0 = Date.now();
    const courseId = await seedGradebook(node.base, token, node.runId);
    console.log("seeded in", Date.now() - t0);
    for (const accept of ["application/json", "text/csv", "application/json"]) {
      const r = await autocannon({
        url: `${node.base}/api/courses/${courseId}/gradebook`,
        headers: { authorization: `Bearer ${token}`, accept },
        connections: 20,
        duration: 8,
      });
      console.log(accept, r.requests.average, "req/s", "p99", r.latency.p99, "non2xx", r.non2xx);
    }
    return true;
  },
);
