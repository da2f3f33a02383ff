/** Bounded connections of the in-process server: idle connections are closed, quiet ones are pinged. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { CONNECTION_OPTIONS, DEFAULT_MAX_IN_FLIGHT, createFunctionServer, listen } from '../../src/server/server.js';
import { Metrics } from '../../src/server/metrics.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_HANDSHAKES } from '../../src/server/tlslistener.js';
import { ROOT } from '../helpers/tools.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { runFunction as call, client } from '../helpers/server.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connection bounds', () => {
  it('are the figures the README states: idle close 5 min, keepalive ping 2 min answered within 20 s, 64 MiB per session; handshake 10 s, 64 at once', () => {
    expect(CONNECTION_OPTIONS['grpc.max_connection_idle_ms']).toBe(5 * 60_000);
    expect(CONNECTION_OPTIONS['grpc.keepalive_time_ms']).toBe(2 * 60_000);
    expect(CONNECTION_OPTIONS['grpc.keepalive_timeout_ms']).toBe(20_000);
    expect(CONNECTION_OPTIONS['grpc-node.max_session_memory']).toBe(64);
    expect(DEFAULT_MAX_IN_FLIGHT).toBe(4);
    expect(DEFAULT_HANDSHAKE_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_MAX_HANDSHAKES).toBe(64);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(
      `an idle gRPC connection is closed after ${CONNECTION_OPTIONS['grpc.max_connection_idle_ms'] / 60_000} minutes and a quiet one is pinged ` +
        `(${CONNECTION_OPTIONS['grpc.keepalive_time_ms'] / 60_000} min) and closed when the ping goes unanswered (${CONNECTION_OPTIONS['grpc.keepalive_timeout_ms'] / 1000} s)`,
    );
    expect(readme).toContain(`| \`--tls-handshake-timeout\` | \`${DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000}\``);
    expect(readme).toContain(`| \`--max-tls-handshakes\` | \`${DEFAULT_MAX_HANDSHAKES}\``);
    expect(readme).toContain(`| \`--max-in-flight\` | \`${DEFAULT_MAX_IN_FLIGHT}\``);
  });

  it('grpc-js is given those figures (read back from the server it builds)', () => {
    const fs = createFunctionServer({ logger: silent, metrics: new Metrics({ defaultMetrics: false }) });
    // grpc-js keeps the options it was built with (private field; a rename makes this test fail, not pass).
    const opts = (fs.server as unknown as { options: Record<string, unknown> }).options;
    expect(opts).toMatchObject({ ...CONNECTION_OPTIONS, 'grpc.max_concurrent_streams': DEFAULT_MAX_IN_FLIGHT });
    const internals = fs.server as unknown as { keepaliveTimeMs: number; keepaliveTimeoutMs: number; sessionIdleTimeout: number };
    expect([internals.keepaliveTimeMs, internals.keepaliveTimeoutMs, internals.sessionIdleTimeout]).toEqual([2 * 60_000, 20_000, 5 * 60_000]);
    fs.server.forceShutdown();
  });

  it('an idle connection is closed by the server (the client channel goes back to IDLE) and reconnects on the next call', async () => {
    const fs = createFunctionServer({ logger: silent, metrics: new Metrics({ defaultMetrics: false }), connectionOptions: { 'grpc.max_connection_idle_ms': 300 } });
    const port = await listen(fs.server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
    const c = client(port, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    try {
      await call(c, request(exampleXr('minimal')));
      expect(c.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
      let state = c.getChannel().getConnectivityState(false);
      for (let i = 0; i < 40 && state === grpc.connectivityState.READY; i++) {
        await sleep(100);
        state = c.getChannel().getConnectivityState(false);
      }
      expect(state).toBe(grpc.connectivityState.IDLE);
      expect((await call(c, request(exampleXr('minimal')))).desired!.resources.statefulset).toBeDefined();
    } finally {
      c.close();
      fs.server.forceShutdown();
    }
  });
});
