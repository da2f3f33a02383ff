#!/usr/bin/env node
/**
 * function-streambus entry point: `node dist/src/main.js [--insecure] [--address 0.0.0.0:9443]
 * [--tls-server-certs-dir /tls/server] [--debug]`. Exits non-zero when it cannot read its certificates or bind.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createServer, listen, serverCredentials } from './server/server.js';

const { values } = parseArgs({
  options: {
    address: { type: 'string', default: process.env.FUNCTION_ADDRESS ?? '0.0.0.0:9443' },
    insecure: { type: 'boolean', default: false },
    'tls-server-certs-dir': { type: 'string', default: process.env.TLS_SERVER_CERTS_DIR ?? '/tls/server' },
    debug: { type: 'boolean', short: 'd', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write(
    'Usage: function-streambus [--insecure] [--address HOST:PORT] [--tls-server-certs-dir DIR] [--debug]\n' +
      '  --address               listen address (default 0.0.0.0:9443, env FUNCTION_ADDRESS)\n' +
      '  --insecure              serve without TLS (local development and crossplane render only)\n' +
      '  --tls-server-certs-dir  directory with tls.crt, tls.key and ca.crt (default /tls/server, env TLS_SERVER_CERTS_DIR)\n' +
      '  --debug                 debug logging\n',
  );
  process.exit(0);
}

const logger = pino({ level: values.debug ? 'debug' : 'info', base: { fn: 'function-streambus' } });

async function main(): Promise<void> {
  let creds;
  try {
    creds = serverCredentials({ insecure: values.insecure, tlsServerCertsDir: values['tls-server-certs-dir'] });
  } catch (err) {
    logger.fatal({ err: (err as Error).message, dir: values['tls-server-certs-dir'] }, 'cannot read TLS certificates (use --insecure for local development)');
    process.exit(1);
  }
  const server = createServer(logger);
  let port: number;
  try {
    port = await listen(server, values.address, creds);
  } catch (err) {
    logger.fatal({ err: (err as Error).message, address: values.address }, 'cannot bind');
    process.exit(1);
  }
  logger.info({ address: values.address, port, tls: !values.insecure }, 'function-streambus listening');

  const stop = (signal: string) => {
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => {
      logger.warn('drain timed out; forcing shutdown');
      server.forceShutdown();
      process.exit(0);
    }, 10_000);
    force.unref();
    server.tryShutdown(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
