/**
 * The benchmark's floor: the same server as function-streambus (src/server/server.ts: the same gRPC transport,
 * request decoding, per-call logging and metrics, response encoding), answering every call with a canned copy of
 * function-streambus's answer to the benchmark request (`--response FILE`: the protobuf-encoded
 * RunFunctionResponse, which the bench fetches from function-streambus itself). It is sent the same request and
 * answers with the same bytes (the bench checks), so whatever function-streambus costs above the floor is the
 * function's own work: guard, validation, render, wrapping, readiness and status (or, with its cache on, the
 * cache lookup).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import * as grpc from '@grpc/grpc-js';
import { createServer, listen } from '../src/server/server.js';

const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1:0' }, response: { type: 'string' } } });
if (!values.response) {
  process.stderr.write('usage: floor --response FILE [--address HOST:PORT]   (FILE: a protobuf-encoded RunFunctionResponse)\n');
  process.exit(2);
}
const canned = RunFunctionResponse.decode(readFileSync(values.response));
const logger = pino({ level: 'info' });

const server = createServer(logger, () => canned);
const port = await listen(server, values.address!, grpc.ServerCredentials.createInsecure());
logger.info({ port }, 'floor listening');
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
