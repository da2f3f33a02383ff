/** Bounded connections of the in-process server: idle connections are closed, quiet ones are pinged. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { CONNECTION_OPTIONS, DEFAULT_MAX_IN_FLIGHT, createFunctionServer, listen } from '../../src/server/server.js';
import { Metrics } from '../../src/server/metrics.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { runFunction as call, client } from '../helpers/server.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connection bounds', () => {
  it('are set: idle close, keepalive pings with a timeout, session memory, streams per connection', () => {
    expect(CONNECTION_OPTIONS['grpc.max_connection_idle_ms']).toBeGreaterThan(0);
    expect(CONNECTION_OPTIONS['grpc.keepalive_time_ms']).toBeGreaterThan(0);
    expect(CONNECTION_OPTIONS['grpc.keepalive_timeout_ms']).toBeGreaterThan(0);
    expect(CONNECTION_OPTIONS['grpc-node.max_session_memory']).toBeGreaterThan(0);
    expect(DEFAULT_MAX_IN_FLIGHT).toBeGreaterThan(0);
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
