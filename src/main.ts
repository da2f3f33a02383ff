#!/usr/bin/env node
/**
 * function-streambus entry point: `node dist/src/main.js [--insecure] [--address 0.0.0.0:9443]
 * [--tls-server-certs-dir /tls/server] [--metrics-address 0.0.0.0:8080] [--drain-timeout 10]
 * [--max-request-bytes 4194304] [--max-in-flight 4] [--cache-entries 512] [--cache-bytes 33554432]
 * [--tls-handshake-timeout 10] [--max-tls-handshakes 64] [--debug]`.
 * Exits 1 when it cannot read its certificates or bind an address, and when, with TLS, the start-up probe
 * (server/probe.ts) finds that its own listener does not refuse a client with no certificate or a foreign one; drains in-flight calls on SIGTERM/SIGINT
 * (bounded by --drain-timeout) and exits 0. The drain waits for calls, not connections: once no call is in flight
 * every connection is closed, including idle ones and ones that never completed their TLS handshake.
 */
import type { Server as HttpServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Health } from './server/health.js';
import { createLogger } from './server/logging.js';
import { Metrics, closeMetrics, serveMetrics } from './server/metrics.js';
import { DEFAULT_CACHE_BYTES, configureCaches } from './function/handler.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_REQUEST_BYTES, createFunctionServer, listenFunction, normalizeAddress, serverCredentials } from './server/server.js';
import { proveClientVerification } from './server/probe.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_HANDSHAKES, type MutualTlsListener } from './server/tlslistener.js';

const DEFAULT_METRICS_ADDRESS = '0.0.0.0:8080';

const USAGE =
  'Usage: function-streambus [--insecure] [--address HOST:PORT] [--tls-server-certs-dir DIR] [--metrics-address HOST:PORT|off]\n' +
  '                          [--drain-timeout SECONDS] [--max-request-bytes N] [--max-in-flight N] [--cache-entries N]\n' +
  '                          [--cache-bytes N] [--tls-handshake-timeout SECONDS] [--max-tls-handshakes N] [--debug]\n' +
  '  --address               gRPC listen address (default 0.0.0.0:9443, env FUNCTION_ADDRESS)\n' +
  '  --insecure              serve without TLS (local development and crossplane render only)\n' +
  '  --tls-server-certs-dir  directory with tls.crt, tls.key and ca.crt; clients must present a certificate signed by\n' +
  '                          ca.crt (default /tls/server, env TLS_SERVER_CERTS_DIR)\n' +
  '  --metrics-address       Prometheus metrics at http://HOST:PORT/metrics; "off" disables (env METRICS_ADDRESS;\n' +
  '                          default 0.0.0.0:8080, skipped with a warning when that port is taken)\n' +
  '  --cache-entries         XRs whose validated spec and rendered resources are kept between calls (default 512,\n' +
  '                          env CACHE_ENTRIES; 0 disables)\n' +
  '  --cache-bytes           approximate bytes those caches may hold together (default 33554432 = 32 MiB, env\n' +
  '                          CACHE_BYTES; 0 disables); a spec over ~256 KiB is never kept\n' +
  '  --max-in-flight         calls handled at once; more are answered RESOURCE_EXHAUSTED (default 4, env MAX_IN_FLIGHT)\n' +
  '  --drain-timeout         seconds to let in-flight calls finish on SIGTERM before forcing (default 10, env DRAIN_TIMEOUT)\n' +
  '  --max-request-bytes     largest RunFunction request accepted (default 4194304 = 4 MiB, env MAX_REQUEST_BYTES)\n' +
  '  --tls-handshake-timeout seconds a client has to finish its TLS handshake (default 10, env TLS_HANDSHAKE_TIMEOUT)\n' +
  '  --max-tls-handshakes    connections in the TLS handshake at once; more are closed at once (default 64,\n' +
  '                          env MAX_TLS_HANDSHAKES)\n' +
  '  --debug                 debug logging\n';

const OPTIONS = {
  address: { type: 'string', default: process.env.FUNCTION_ADDRESS ?? '0.0.0.0:9443' },
  insecure: { type: 'boolean', default: false },
  'tls-server-certs-dir': { type: 'string', default: process.env.TLS_SERVER_CERTS_DIR ?? '/tls/server' },
  'metrics-address': { type: 'string' },
  'drain-timeout': { type: 'string', default: process.env.DRAIN_TIMEOUT ?? '10' },
  'max-request-bytes': { type: 'string', default: process.env.MAX_REQUEST_BYTES ?? String(DEFAULT_MAX_REQUEST_BYTES) },
  'cache-entries': { type: 'string', default: process.env.CACHE_ENTRIES ?? '512' },
  'cache-bytes': { type: 'string', default: process.env.CACHE_BYTES ?? String(DEFAULT_CACHE_BYTES) },
  'max-in-flight': { type: 'string', default: process.env.MAX_IN_FLIGHT ?? String(DEFAULT_MAX_IN_FLIGHT) },
  'tls-handshake-timeout': { type: 'string', default: process.env.TLS_HANDSHAKE_TIMEOUT ?? String(DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000) },
  'max-tls-handshakes': { type: 'string', default: process.env.MAX_TLS_HANDSHAKES ?? String(DEFAULT_MAX_HANDSHAKES) },
  debug: { type: 'boolean', short: 'd', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse() {
  try {
    return parseArgs({ options: OPTIONS, strict: true }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
const values = parse();

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const logger = createLogger({ debug: values.debug });

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    logger.fatal({ flag, value: v }, `--${flag} must be a positive number`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const drainSeconds = positive('drain-timeout', values['drain-timeout']);
  const maxRequestBytes = Math.floor(positive('max-request-bytes', values['max-request-bytes']));
  const cacheEntries = Number(values['cache-entries']);
  if (!Number.isInteger(cacheEntries) || cacheEntries < 0) {
    logger.fatal({ flag: 'cache-entries', value: values['cache-entries'] }, '--cache-entries must be a whole number ≥ 0');
    process.exit(2);
  }
  const cacheBytes = Number(values['cache-bytes']);
  if (!Number.isInteger(cacheBytes) || cacheBytes < 0) {
    logger.fatal({ flag: 'cache-bytes', value: values['cache-bytes'] }, '--cache-bytes must be a whole number ≥ 0');
    process.exit(2);
  }
  configureCaches(cacheEntries, cacheBytes);
  const maxInFlight = Math.floor(positive('max-in-flight', values['max-in-flight']));
  const handshakeTimeoutMs = Math.round(positive('tls-handshake-timeout', values['tls-handshake-timeout']) * 1000);
  const maxHandshakes = Math.floor(positive('max-tls-handshakes', values['max-tls-handshakes']));
  // Test hook (e2e drain tests): answer each call this late. Not a flag: never meant for production.
  const responseDelayMs = Number(process.env.FUNCTION_STREAMBUS_TEST_RESPONSE_DELAY_MS ?? 0) || 0;

  let creds;
  try {
    creds = serverCredentials({ insecure: values.insecure, tlsServerCertsDir: values['tls-server-certs-dir'] });
  } catch (err) {
    logger.fatal({ err: (err as Error).message, dir: values['tls-server-certs-dir'] }, 'cannot read TLS certificates (use --insecure for local development)');
    process.exit(1);
  }

  const metrics = new Metrics();
  const health = new Health();
  const fn = createFunctionServer({ logger, metrics, health, maxRequestBytes, maxInFlight, responseDelayMs });

  // An address asked for (flag or env) must be bound; the default one is best effort: a function that cannot expose
  // metrics (port 8080 taken, e.g. two functions started on one machine) still serves RunFunction.
  const requested = values['metrics-address'] ?? process.env.METRICS_ADDRESS;
  const metricsAddress = requested ?? DEFAULT_METRICS_ADDRESS;
  let metricsServer: HttpServer | undefined;
  let metricsPort: number | undefined;
  if (metricsAddress && metricsAddress !== 'off') {
    try {
      ({ server: metricsServer, port: metricsPort } = await serveMetrics(metrics, metricsAddress));
    } catch (err) {
      if (requested !== undefined) {
        logger.fatal({ err: (err as Error).message, address: metricsAddress }, 'cannot bind the metrics address (--metrics-address off disables metrics)');
        process.exit(1);
      }
      logger.warn({ err: (err as Error).message, address: metricsAddress }, 'cannot bind the default metrics address; serving without metrics');
    }
  }

  let port: number;
  let tlsListener: MutualTlsListener | undefined;
  try {
    ({ port, tls: tlsListener } = await listenFunction(fn, values.address, creds, {
      handshakeTimeoutMs,
      maxHandshakes,
      // Who called: the verified certificate's subject and SHA-256 fingerprint (compare with the client Secret's).
      onAccepted: (peer, cert) =>
        logger.info({ remote: peer.address, remotePort: peer.port, subject: cert?.subject, fingerprint256: cert?.fingerprint256 }, 'accepted a TLS client'),
    }));
  } catch (err) {
    logger.fatal({ err: (err as Error).message, address: values.address }, 'cannot bind');
    process.exit(1);
  }
  if (tlsListener) {
    // Fail closed: prove on the real listener, before serving, that strangers are refused.
    const host = normalizeAddress(values.address).replace(/:\d+$/, '');
    const problems = await proveClientVerification(host, port);
    if (problems.length > 0) {
      logger.fatal({ problems, port }, 'client certificates are NOT verified on the listener: refusing to serve');
      process.exit(1);
    }
    logger.info({ port, handshakeTimeoutMs, maxHandshakes }, 'client certificate verification proven on the listener (no certificate and a foreign one both refused)');
  }
  health.set('SERVING');
  logger.info(
    { address: values.address, port, tls: !values.insecure, metricsAddress: metricsServer ? metricsAddress : 'off', metricsPort, maxRequestBytes },
    'function-streambus listening',
  );

  let draining = false;
  const stop = (signal: string) => {
    if (draining) {
      // A second signal (Ctrl-C twice): stop waiting.
      logger.warn({ signal, inFlight: fn.inFlight() }, 'second signal while draining; exiting now');
      fn.server.forceShutdown();
      process.exit(1);
    }
    draining = true;
    const started = Date.now();
    // No new connections (and none left in the TLS handshake); accepted ones stay until their calls are done.
    void tlsListener?.close();
    logger.info({ signal, inFlight: fn.inFlight(), drainTimeoutSeconds: drainSeconds }, 'draining: no new calls, waiting for in-flight calls');
    health.drain();
    const done = async (forced: boolean) => {
      if (metricsServer) await closeMetrics(metricsServer);
      logger.info({ forced, drainMs: Date.now() - started }, 'function-streambus stopped');
      process.exit(0);
    };
    const force = setTimeout(() => {
      logger.warn({ inFlight: fn.inFlight() }, 'drain timed out; cancelling the remaining calls');
      fn.server.forceShutdown();
      void done(true);
    }, drainSeconds * 1000);
    force.unref();
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(force);
      void done(false);
    };
    // tryShutdown stops accepting calls; it would also wait for every connection to close, including idle ones.
    // Calls are what matter: once none has been in flight for FLUSH_MS (the last answers are written to their
    // connections), close everything. tryShutdown's callback is no proof that no call is in flight: for connections
    // handed over by the mutual-TLS listener (createConnectionInjector) grpc-js calls it at once under Node 26
    // (measured: "stopped" 3 ms after SIGTERM with a call in flight); and closing at once when the count drops to 0
    // can cut an answer still being written (CANCELLED, seen under Node 20).
    fn.server.tryShutdown(() => {});
    let idleSince: number | undefined;
    const poll = setInterval(() => {
      if (fn.inFlight() > 0) {
        idleSince = undefined;
        return;
      }
      idleSince ??= Date.now();
      if (Date.now() - idleSince < FLUSH_MS) return;
      clearInterval(poll);
      fn.server.forceShutdown();
      finish();
    }, 25);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** How long the drain waits, once no call is in flight, for the last answers to leave before closing connections. */
const FLUSH_MS = 250;

void main();
