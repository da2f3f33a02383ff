/**
 * The gRPC server: serves RunFunction over plain TCP (local development, `crossplane render`) or mutual TLS
 * (production: Crossplane presents a client certificate signed by the CA in ca.crt, and we verify it; the SDK's
 * own server does not).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import { runFunction } from '../function/handler.js';

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

export function serverCredentials(opts: Pick<ServerOptions, 'insecure' | 'tlsServerCertsDir'>): grpc.ServerCredentials {
  if (opts.insecure) return grpc.ServerCredentials.createInsecure();
  const read = (f: string) => readFileSync(join(opts.tlsServerCertsDir, f));
  // checkClientCertificate = true: a client without a certificate signed by ca.crt is refused.
  return grpc.ServerCredentials.createSsl(read('ca.crt'), [{ private_key: read('tls.key'), cert_chain: read('tls.crt') }], true);
}

export function createServer(logger: Logger, handler: (req: RunFunctionRequest) => RunFunctionResponse = runFunction): grpc.Server {
  const server = new grpc.Server();
  server.addService(FunctionRunnerServiceService, {
    runFunction: (call: grpc.ServerUnaryCall<RunFunctionRequest, RunFunctionResponse>, callback: grpc.sendUnaryData<RunFunctionResponse>) => {
      const req = call.request;
      try {
        const rsp = handler(req);
        callback(null, rsp);
      } catch (err) {
        // The handler is total by design; if it throws anyway, say so instead of crashing the server.
        logger.error({ err, tag: req.meta?.tag }, 'RunFunction threw');
        callback({ code: grpc.status.INTERNAL, details: `function-streambus: ${(err as Error).message}` });
      }
    },
  });
  return server;
}

/** Binds and starts serving; rejects (instead of logging and exiting 0 like the SDK) when it cannot bind. */
export function listen(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(normalizeAddress(address), creds, (err, port) => (err ? reject(err) : resolve(port)));
  });
}
