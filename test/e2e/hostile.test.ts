/**
 * Hostile input over the real gRPC server: every catalogue case that protobuf can carry gets its FATAL result
 * naming the field, the desired state of earlier steps comes back untouched, a valid request succeeds right after
 * each one, and the process never dies. Plus what only exists on the wire: undecodable bytes, nesting beyond what
 * even the widened decoder takes, "__proto__" keys, and requests over the size limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { HOSTILE, namesField } from '../helpers/hostile.js';
import { clone, exampleXr, request } from '../helpers/fixtures.js';
import { CORE_RESOURCES, metric, rawRunFunction, scrape } from '../helpers/ops.js';
import { client, runFunction, startServer, type RunningServer } from '../helpers/server.js';

type Obj = Record<string, any>;
const WIRE = HOSTILE.filter((c) => c.wire !== 'skip');
const P = 'function_streambus_run_function';

describe(`hostile input over gRPC (${WIRE.length} catalogue cases + wire-only cases)`, () => {
  let srv: RunningServer;
  let c: grpc.Client;
  let before: string;
  beforeAll(async () => {
    srv = await startServer();
    c = client(srv.port);
    before = await scrape(srv.metricsPort!);
  });
  afterAll(async () => {
    c?.close();
    expect(await srv?.stop()).toBe(0);
  });

  const valid = async () => {
    const rsp = await runFunction(c, request(exampleXr('minimal'), { tag: 'valid-after' }));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(CORE_RESOURCES));
  };

  it.each(WIRE.map((h) => [h.name, h] as const))('%s', async (_name, h) => {
    const req = h.build();
    const rsp = await runFunction(c, req);
    const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
    expect(fatal, JSON.stringify(rsp.results).slice(0, 500)).toHaveLength(1);
    expect(namesField(h, fatal[0]!.message), fatal[0]!.message).toBe(true);
    const previous = req.desired?.resources ?? {};
    expect(Object.keys(rsp.desired!.resources).sort()).toEqual(Object.keys(previous).sort());
    for (const [k, v] of Object.entries(previous)) expect(rsp.desired!.resources[k]!.resource, k).toEqual(v.resource);
    await valid();
  });

  it('answers undecodable bytes with INVALID_ARGUMENT', async () => {
    for (const bytes of [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0xff]), Buffer.from('{"observed": {}}')]) {
      await expect(rawRunFunction(c, bytes)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    }
    await valid();
  });

  it('answers nesting beyond ~130 levels with INVALID_ARGUMENT (the decoder\'s bound), and 70 levels with a FATAL result', async () => {
    const at = (depth: number) => {
      let o: unknown = 'x';
      for (let i = 0; i < depth; i++) o = { a: o };
      const x = clone(exampleXr('minimal')) as Obj;
      x.spec.affinity = o;
      return request(x);
    };
    await expect(runFunction(c, at(200))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('recursion limit') });
    const rsp = await runFunction(c, at(70));
    expect(rsp.results[0]!.message).toMatch(/^ValidateSpec: spec\.affinity\.a\.a.*nested more than 64 levels deep/);
    await valid();
  });

  it('drops "__proto__" keys on the wire: no pollution, the rest of the spec is used', async () => {
    const x = clone(exampleXr('minimal')) as Obj;
    x.spec.__proxo__ = { replicas: 99 };
    x.spec.podLabels = { __proxo__: 'yes', team: 'a' };
    x.spec.replicas = 5;
    const bytes = Buffer.from(RunFunctionRequest.encode(request(x)).finish());
    const patched = Buffer.from(bytes.toString('latin1').replaceAll('__proxo__', '__proto__'), 'latin1');
    const rsp = RunFunctionResponse.decode(await rawRunFunction(c, patched));
    expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
    const sts = (rsp.desired!.resources.statefulset!.resource as Obj).spec.forProvider.manifest;
    expect(sts.spec.replicas).toBe(5);
    expect(sts.spec.template.metadata.labels.team).toBe('a');
    expect(Object.keys(sts.spec.template.metadata.labels)).not.toContain('__proto__');
    await valid();
  });

  it('refuses a 5 MiB request with RESOURCE_EXHAUSTED (4 MiB limit) and a 3 MiB spec with a FATAL result', async () => {
    const x = clone(exampleXr('minimal')) as Obj;
    x.spec.affinity = { blob: 'x'.repeat(5 * 1024 * 1024) };
    await expect(runFunction(c, request(x))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    x.spec.affinity = { blob: 'x'.repeat(3 * 1024 * 1024) };
    expect((await runFunction(c, request(x))).results[0]!.message).toMatch(/^ValidateSpec: spec\.affinity: more than/);
    await valid();
  });

  it('never crashed, and counted every refusal as fatal and no failure of its own', async () => {
    expect(srv.proc.exitCode).toBeNull();
    const after = await scrape(srv.metricsPort!);
    const delta = (name: string, labels: Record<string, string>) => (metric(after, name, labels) ?? 0) - (metric(before, name, labels) ?? 0);
    // The catalogue, the 70-level case and the 3 MiB case.
    expect(delta(`${P}_calls_total`, { result: 'fatal' })).toBe(WIRE.length + 2);
    expect(delta(`${P}_errors_total`, { reason: 'decode' })).toBe(4);
    expect(delta(`${P}_errors_total`, { reason: 'handler' })).toBe(0);
    expect(delta(`${P}_errors_total`, { reason: 'encode' })).toBe(0);
    expect(metric(after, `${P}_in_flight`)).toBe(0);
  });
});
