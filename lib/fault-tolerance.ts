/**
 * Per-action fault-tolerance options. The broker retries calls that failed for transport reasons
 * (node gone, timeout); that is safe for reads only. A write retried after a timeout may already
 * have happened, so writes are never retried by the broker: the client decides, with a clear
 * answer (e.g. 409 ALREADY_ENROLLED) if it had.
 */
export const NOT_RETRIED = { retryPolicy: { enabled: false } } as const;

/**
 * Reads give up on one node quickly and are retried on another: a node killed without notice is
 * only dropped from the registry after the heartbeat timeout, and until then the balancer may
 * still pick it.
 */
export const READ_TIMEOUT_MS = 2000;
export const FAST_FAILOVER = { timeout: READ_TIMEOUT_MS } as const;
