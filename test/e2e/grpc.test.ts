/** The real server, spawned as `npm start` would, called over gRPC. */
import { createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ready, Severity } from '@crossplane-org/function-sdk-typescript';
import { client, runFunction, startServer, type RunningServer } from '../helpers/server.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';

type Obj = Record<string, any>;

describe('gRPC RunFunction against the real server', () => {
  let srv: RunningServer;
  beforeAll(async () => {
    srv = await startServer();
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('composes the minimal example', async () => {
    const rsp = await runFunction(client(srv.port), request(exampleXr('minimal')));
    expect(Object.keys(rsp.desired!.resources).sort()).toEqual(['client-service', 'config', 'headless-service', 'network-policy', 'pdb', 'statefulset']);
    expect(rsp.desired!.resources.statefulset!.ready).toBe(Ready.READY_FALSE);
    expect(rsp.meta!.tag).toBe('test');
    expect((rsp.desired!.composite!.resource as Obj).status.replicas).toBe(3);
  });

  it('answers an invalid XR with a FATAL result and keeps serving', async () => {
    const x = clone(exampleXr('minimal')) as Obj;
    x.spec.replicas = 0;
    const c = client(srv.port);
    const bad = await runFunction(c, request(x));
    expect(bad.results[0]!.severity).toBe(Severity.SEVERITY_FATAL);
    expect(bad.results[0]!.message).toContain('spec.replicas');
    const good = await runFunction(c, request(exampleXr('minimal')));
    expect(good.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
  });

  it('exits non-zero when it cannot bind (the SDK would exit 0)', async () => {
    const blocker = createNetServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const { spawnSync } = await import('node:child_process');
    const { MAIN } = await import('../helpers/server.js');
    const res = spawnSync(process.execPath, [MAIN, '--insecure', '--address', `127.0.0.1:${port}`, '--metrics-address', 'off'], { timeout: 15_000, encoding: 'utf8' });
    blocker.close();
    expect(res.status).toBe(1);
    expect(res.stdout).toContain('"msg":"cannot bind"');
  });

  it('exits non-zero without certificates and without --insecure', async () => {
    const { spawnSync } = await import('node:child_process');
    const { MAIN } = await import('../helpers/server.js');
    const res = spawnSync(process.execPath, [MAIN, '--address', '127.0.0.1:0', '--tls-server-certs-dir', '/nonexistent'], { timeout: 15_000, encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stdout).toContain('cannot read TLS certificates');
  });
});
