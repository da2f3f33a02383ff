/**
 * The gRPC server: serves RunFunction over plain TCP (local development, `crossplane render`) or mutual TLS
 * (production: Crossplane presents a client certificate signed by the CA in ca.crt, and we verify it; the SDK's
 * own server does not), plus the standard grpc.health.v1.Health service.
 *
 * RunFunction is registered with pass-through (de)serialisers and decodes/encodes the protobuf messages itself,
 * so that every way a call can fail — an undecodable request, a handler that throws, a response that cannot be
 * encoded or is too large for Crossplane — is answered with a gRPC status, logged and counted, instead of
 * grpc-js's silent INTERNAL. Each call is logged (src/server/logging.ts) and measured (src/server/metrics.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  RunFunctionResponse,
  Severity,
  type RunFunctionRequest,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import { runFunction } from '../function/handler.js';
import { parseBundle } from './clientcert.js';
import { decodeRequest } from './codec.js';
import { Health } from './health.js';
import { callIdentity, logMessage, type CallIdentity } from './logging.js';
import { Metrics, type CallResult, type ErrorReason } from './metrics.js';
import { listenMutualTls, RefusalLog, type MutualTlsCredentials, type MutualTlsListener, type MutualTlsListenerOptions, type Peer } from './tlslistener.js';

/**
 * Largest request accepted (grpc.max_receive_message_length): gRPC's default, 4 MiB, set explicitly. Crossplane
 * sends the observed XR, the observed composed resources and the desired state of earlier steps; a StreamBus XR
 * and its composed resources are tens of KiB. A larger request is refused by grpc-js with RESOURCE_EXHAUSTED.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Largest response sent: Crossplane's gRPC client accepts at most 4 MiB (Go gRPC's default receive limit). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * Calls handled at once (--max-in-flight, env MAX_IN_FLIGHT). Each holds its request (up to 4 MiB on the wire, several
 * times that decoded) and its response; beyond the cap a call is answered RESOURCE_EXHAUSTED at once and Crossplane
 * retries it. HTTP/2 streams per connection are capped to the same number, so one client queues instead.
 */
export const DEFAULT_MAX_IN_FLIGHT = 4;

/**
 * Connection limits: an idle connection (no call for this long) is closed (Crossplane reconnects on its next call);
 * the server pings a connection that is quiet and closes it when the ping is not answered, so half-open and stuck
 * connections do not pile up.
 */
export const CONNECTION_OPTIONS = {
  'grpc.max_connection_idle_ms': 5 * 60_000,
  'grpc.keepalive_time_ms': 2 * 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
  /** HTTP/2 session memory (MiB) per connection before nghttp2 refuses new streams on it. */
  'grpc-node.max_session_memory': 64,
} as const;

export interface ServerOptions {
  address: string;
  insecure: boolean;
  tlsServerCertsDir: string;
  logger: Logger;
}

/** Accepts `:9443` (as Crossplane's Go functions do) as well as `host:port`. */
export function normalizeAddress(address: string): string {
  return address.startsWith(':') ? `0.0.0.0${address}` : address;
}

/**
 * How the server listens: grpc-js's insecure credentials (--insecure), or mutual TLS handled by tlslistener.ts (which
 * verifies each client certificate before grpc-js sees the connection).
 */
export type ListenCredentials = grpc.ServerCredentials | MutualTlsCredentials;

export function isMutualTls(creds: ListenCredentials): creds is MutualTlsCredentials {
  return !(creds instanceof grpc.ServerCredentials);
}

export function serverCredentials(opts: Pick<ServerOptions, 'insecure' | 'tlsServerCertsDir'>): ListenCredentials {
  if (opts.insecure) return grpc.ServerCredentials.createInsecure();
  const read = (f: string) => readFileSync(join(opts.tlsServerCertsDir, f));
  const caPem = read('ca.crt');
  const cas = parseBundle(caPem);
  if (cas.length === 0) throw new Error('ca.crt holds no PEM certificate');
  return { caPem, cas, key: read('tls.key'), cert: read('tls.crt') };
}

/** RunFunction with the SDK's path and codecs replaced by pass-through ones: the handler sees the wire bytes. */
const RawRunFunctionService = {
  runFunction: {
    ...FunctionRunnerServiceService.runFunction,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (b: Buffer): Buffer => b,
  },
} satisfies grpc.ServiceDefinition;

export interface CreateServerOptions {
  logger: Logger;
  metrics?: Metrics;
  health?: Health;
  handler?: (req: RunFunctionRequest) => RunFunctionResponse;
  maxRequestBytes?: number;
  /** Calls handled at once; beyond it RESOURCE_EXHAUSTED (default DEFAULT_MAX_IN_FLIGHT). */
  maxInFlight?: number;
  /** Overrides of CONNECTION_OPTIONS (tests shorten the idle time). */
  connectionOptions?: Partial<Record<keyof typeof CONNECTION_OPTIONS, number>>;
  /** Test hook: answer every call this many milliseconds late (used to test draining). Never set in production. */
  responseDelayMs?: number;
}

export interface FunctionServer {
  server: grpc.Server;
  /** Counts and logs (rate-limited) a refused TLS client. */
  tlsRefused: (peer: Peer, problem: string) => void;
  metrics: Metrics;
  health: Health;
  /** Calls being handled now. */
  inFlight(): number;
}

function resultOf(rsp: RunFunctionResponse): CallResult {
  let result: CallResult = 'ok';
  for (const r of rsp.results ?? []) {
    if (r.severity === Severity.SEVERITY_FATAL) return 'fatal';
    if (r.severity === Severity.SEVERITY_WARNING) result = 'warning';
  }
  return result;
}

/**
 * The foundation's signature, kept for callers that only need a grpc.Server (e.g. an in-process server for
 * `crossplane render`): RunFunction and health, metrics kept in memory without process metrics.
 */
export function createServer(logger: Logger, handler: (req: RunFunctionRequest) => RunFunctionResponse = runFunction): grpc.Server {
  const fs = createFunctionServer({ logger, handler, metrics: new Metrics({ defaultMetrics: false }) });
  fs.health.set('SERVING');
  return fs.server;
}

export function createFunctionServer(o: CreateServerOptions): FunctionServer {
  const { logger } = o;
  const handler = o.handler ?? runFunction;
  const metrics = o.metrics ?? new Metrics();
  const health = o.health ?? new Health();
  const delay = o.responseDelayMs ?? 0;
  const maxInFlight = o.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  let inFlight = 0;

  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': MAX_RESPONSE_BYTES,
    'grpc.max_concurrent_streams': maxInFlight,
    ...CONNECTION_OPTIONS,
    ...(o.connectionOptions ?? {}),
  });
  const refusalLog = new RefusalLog((fields, msg) => logger.warn(fields, msg));
  const tlsRefused = (peer: Peer, problem: string) => {
    metrics.tlsRefused.inc();
    refusalLog.refused(peer, problem);
  };

  server.addService(RawRunFunctionService, {
    runFunction: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const started = process.hrtime.bigint();
      if (inFlight >= maxInFlight) {
        // Overloaded: refuse before decoding anything, so the request's bytes are released at once.
        metrics.observe('error', 0, 'overloaded');
        logger.warn({ inFlight, maxInFlight, requestBytes: call.request.length }, 'RunFunction refused: too many calls in flight');
        callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `function-streambus: ${inFlight} calls in flight, at most ${maxInFlight}; retry` });
        return;
      }
      inFlight++;
      metrics.inFlight.inc();
      metrics.requestBytes.observe(call.request.length);
      let id: CallIdentity = {};
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      const finish = (result: CallResult, extra: Record<string, unknown>, reason?: ErrorReason) => {
        inFlight--;
        metrics.inFlight.dec();
        const s = seconds();
        metrics.observe(result, s, reason);
        const fields = { ...id, result, durationMs: Math.round(s * 1e6) / 1e3, requestBytes: call.request.length, ...extra };
        if (result === 'error') logger.error(fields, 'RunFunction failed');
        else if (result === 'fatal') logger.warn(fields, 'RunFunction refused the input');
        else logger.info(fields, 'RunFunction');
      };
      const fail = (code: grpc.status, reason: ErrorReason, details: string, err?: unknown) => {
        finish('error', { code: grpc.status[code], reason, ...(err ? { err } : {}) }, reason);
        callback({ code, details: `function-streambus: ${details}` });
      };

      let req: RunFunctionRequest;
      try {
        req = decodeRequest(call.request);
      } catch (err) {
        return fail(grpc.status.INVALID_ARGUMENT, 'decode', `cannot decode the RunFunctionRequest: ${(err as Error).message}`);
      }
      id = callIdentity(req);

      let rsp: RunFunctionResponse;
      try {
        rsp = handler(req);
      } catch (err) {
        // The handler is total by design; if it throws anyway, say so instead of crashing the server.
        return fail(grpc.status.INTERNAL, 'handler', `RunFunction threw: ${(err as Error).message}`, err);
      }

      let out: Buffer;
      try {
        out = Buffer.from(RunFunctionResponse.encode(rsp).finish());
      } catch (err) {
        return fail(grpc.status.INTERNAL, 'encode', `cannot encode the RunFunctionResponse: ${(err as Error).message}`, err);
      }
      if (out.length > MAX_RESPONSE_BYTES) {
        return fail(
          grpc.status.RESOURCE_EXHAUSTED,
          'too_large',
          `the response is ${out.length} bytes; Crossplane accepts at most ${MAX_RESPONSE_BYTES}`,
        );
      }

      const result = resultOf(rsp);
      const extra: Record<string, unknown> = { resources: Object.keys(rsp.desired?.resources ?? {}).length };
      const fatal = rsp.results?.find((r) => r.severity === Severity.SEVERITY_FATAL);
      if (fatal) extra.message = logMessage(fatal.message);
      const send = () => {
        finish(result, extra);
        callback(null, out);
      };
      if (delay > 0) setTimeout(send, delay);
      else send();
    },
  });
  health.addToServer(server);
  return { server, tlsRefused, metrics, health, inFlight: () => inFlight };
}

/** Binds and starts serving with grpc-js's own listener (insecure); rejects (instead of logging and exiting 0 like the SDK) when it cannot bind. */
export function listen(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(normalizeAddress(address), creds, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/**
 * Binds `address` with either kind of credentials: mutual TLS through tlslistener.ts (refusals counted and logged by
 * `fn.tlsRefused`), insecure through grpc-js. `close` stops the mutual-TLS listener (grpc-js's shutdown closes the rest).
 */
export async function listenFunction(
  fn: Pick<FunctionServer, 'server' | 'tlsRefused'>,
  address: string,
  creds: ListenCredentials,
  tlsOptions: Partial<MutualTlsListenerOptions> = {},
): Promise<{ port: number; tls?: MutualTlsListener }> {
  if (!isMutualTls(creds)) return { port: await listen(fn.server, address, creds) };
  const tls = await listenMutualTls(fn.server, normalizeAddress(address), creds, { onRefused: fn.tlsRefused, ...tlsOptions });
  return { port: tls.port, tls };
}
