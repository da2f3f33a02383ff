/**
 * Prometheus metrics (prom-client), served over HTTP at /metrics on --metrics-address (default 0.0.0.0:8080,
 * the port Crossplane's package runtime names `metrics`).
 *
 *   function_streambus_run_function_calls_total{result}        RunFunction calls: ok | warning | fatal | error
 *   function_streambus_run_function_errors_total{reason}        calls answered with a gRPC error instead of a
 *                                                               response: decode | handler | encode | too_large |
 *                                                               overloaded (beyond --max-in-flight)
 *   function_streambus_run_function_duration_seconds{result}    time from receiving the request to answering it
 *   function_streambus_run_function_in_flight                   calls being handled now
 *   function_streambus_run_function_request_bytes               size of each request on the wire
 *   function_streambus_tls_clients_refused_total                TLS clients refused (no, untrusted, expired or
 *                                                               non-client certificate; src/server/clientcert.ts)
 *   process_* and nodejs_*                                      prom-client's default process metrics
 *
 * `fatal` counts refused input (a FATAL result: the user must fix the claim); `error` counts failures of the
 * function itself, which are also broken down in errors_total.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type CallResult = 'ok' | 'warning' | 'fatal' | 'error';
export type ErrorReason = 'decode' | 'handler' | 'encode' | 'too_large' | 'overloaded';

export const METRIC_PREFIX = 'function_streambus_';

/** Sampling interval of the event-loop-lag histogram (nodejs_eventloop_lag_*). */
export const EVENT_LOOP_SAMPLE_MS = 100;

export class Metrics {
  readonly registry = new Registry();
  readonly calls: Counter<'result'>;
  readonly errors: Counter<'reason'>;
  readonly duration: Histogram<'result'>;
  readonly inFlight: Gauge;
  readonly requestBytes: Histogram;
  readonly tlsRefused: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.calls = new Counter({
      name: `${METRIC_PREFIX}run_function_calls_total`,
      help: 'RunFunction calls by result: ok, warning (a WARNING result), fatal (input refused with a FATAL result), error (gRPC error).',
      labelNames: ['result'],
      registers,
    });
    this.errors = new Counter({
      name: `${METRIC_PREFIX}run_function_errors_total`,
      help: 'RunFunction calls answered with a gRPC error, by reason: decode, handler, encode, too_large, overloaded.',
      labelNames: ['reason'],
      registers,
    });
    this.duration = new Histogram({
      name: `${METRIC_PREFIX}run_function_duration_seconds`,
      help: 'Time to handle a RunFunction call, from receiving the request bytes to the encoded response.',
      labelNames: ['result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.tlsRefused = new Counter({
      name: `${METRIC_PREFIX}tls_clients_refused_total`,
      help: 'TLS connections closed after the handshake because the client certificate was missing or not trusted.',
      registers,
    });
    this.inFlight = new Gauge({
      name: `${METRIC_PREFIX}run_function_in_flight`,
      help: 'RunFunction calls being handled now.',
      registers,
    });
    this.requestBytes = new Histogram({
      name: `${METRIC_PREFIX}run_function_request_bytes`,
      help: 'Size of RunFunction requests on the wire, in bytes.',
      buckets: [1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
      registers,
    });
    // Every result and reason appears from the start (at 0), so rate() and alerts work before the first error.
    for (const r of ['ok', 'warning', 'fatal', 'error'] as const) this.calls.inc({ result: r }, 0);
    for (const r of ['decode', 'handler', 'encode', 'too_large', 'overloaded'] as const) this.errors.inc({ reason: r }, 0);
    // Node's process metrics. The event-loop-lag histogram samples every 100 ms rather than prom-client's 10 ms: at
    // 10 ms its timer woke an idle function about 200 times a second, 0.2-0.3 % of a core with no call at all
    // (measured with /proc/<pid>/stat and strace -c, 2026-12-05); at 100 ms 0.05 %. Each sample still measures the
    // delay in nanoseconds; only the number of samples drops.
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  /** Records one finished call. */
  observe(result: CallResult, seconds: number, reason?: ErrorReason): void {
    this.calls.inc({ result });
    this.duration.observe({ result }, seconds);
    if (reason) this.errors.inc({ reason });
  }
}

/** Splits `host:port`, `:port` and `[v6]:port`; an empty host means all IPv4 interfaces. */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`"${address}" is not host:port`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`"${address}": port out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Serves GET /metrics; resolves with the bound port, rejects when it cannot bind. */
export function serveMetrics(metrics: Metrics, address: string): Promise<{ server: HttpServer; port: number }> {
  const { host, port } = parseHostPort(address);
  // connectionsCheckingInterval: how often Node enforces headersTimeout and requestTimeout (default 30 s).
  const server = createHttpServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${err.message}\n`),
    );
  });
  // Bounded connections: a client must send its headers within 5 s and the whole request within 10 s; an idle
  // keep-alive connection is closed after 5 s, any socket silent for 30 s is destroyed.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(30_000, (socket) => socket.destroy());
  server.maxHeadersCount = 64;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

/** Stops serving metrics: closes the listener and any open connections. */
export function closeMetrics(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
