/**
 * The benchmark's floor: the same SDK, server and transport as function-streambus, with a handler that does no
 * work: it returns the desired resources it was given. Whatever function-streambus costs above this is the cost
 * of rendering.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { RunFunctionRequest, RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { createServer, listen, serverCredentials } from '../src/server/server.js';

const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1:0' } } });
const logger = pino({ level: 'info' });

function noop(req: RunFunctionRequest): RunFunctionResponse {
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: { seconds: 60, nanos: 0 } },
    desired: req.desired,
    results: [],
    context: req.context,
    requirements: undefined,
    conditions: [],
  };
}

const server = createServer(logger, noop);
const port = await listen(server, values.address!, serverCredentials({ insecure: true, tlsServerCertsDir: '' }));
logger.info({ port }, 'floor listening');
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
