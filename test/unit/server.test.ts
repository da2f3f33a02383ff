/** The server's building blocks, in-process: address parsing, call identity for logs, metrics, result classes. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { callIdentity, logMessage } from '../../src/server/logging.js';
import { Metrics, parseHostPort } from '../../src/server/metrics.js';
import { createFunctionServer, listen } from '../../src/server/server.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { metric, rawRunFunction } from '../helpers/ops.js';
import { runFunction as call, client } from '../helpers/server.js';

type Obj = Record<string, any>;

describe('parseHostPort', () => {
  it.each([
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9', { host: '::1', port: 9 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
  ])('%s', (a, want) => expect(parseHostPort(a)).toEqual(want));
  it.each(['8080', 'host:', 'host:99999', 'a:b:c', ''])('refuses %j', (a) => expect(() => parseHostPort(a)).toThrow());
});

describe('callIdentity (what a log line says about a call)', () => {
  it('reads the tag, XR name, claim name and namespace', () => {
    expect(callIdentity(request(exampleXr('production'), { tag: 't1' }))).toEqual({
      tag: 't1',
      xr: 'streambus-production-wml6q',
      claimName: 'streambus-production',
      claimNamespace: 'production',
    });
  });
  it('falls back to spec.claimRef, and tolerates garbage', () => {
    const x = structuredClone(exampleXr('minimal')) as Obj;
    delete x.metadata.labels;
    expect(callIdentity(request(x))).toMatchObject({ claimName: 'streambus-minimal', claimNamespace: 'default' });
    expect(callIdentity(RunFunctionRequest.fromPartial({}))).toEqual({});
    expect(callIdentity(undefined)).toEqual({});
    const weird = request({ metadata: { name: 42, labels: 'x' }, spec: [] });
    expect(callIdentity(weird)).toEqual({ tag: 'test' });
  });
  it('truncates long identifiers and messages', () => {
    expect(callIdentity(request({ metadata: { name: 'x'.repeat(1000) } })).xr).toHaveLength(254);
    expect(logMessage('m'.repeat(600))).toHaveLength(513);
  });
});

describe('createFunctionServer, in-process', () => {
  const silent = pino({ level: 'silent' });

  async function serve(handler: (r: RunFunctionRequest) => RunFunctionResponse) {
    const metrics = new Metrics({ defaultMetrics: false });
    const fs = createFunctionServer({ logger: silent, metrics, handler });
    const port = await listen(fs.server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
    const c = client(port);
    return {
      c,
      metrics: async () => metrics.registry.metrics(),
      close: () => {
        c.close();
        fs.server.forceShutdown();
      },
    };
  }

  it('classifies results: warning, and a throwing handler as an INTERNAL error', async () => {
    let mode = 'warn';
    const s = await serve((req) => {
      if (mode === 'throw') throw new Error('boom');
      if (mode === 'unencodable') {
        // A hand-built Resource without connectionDetails: the SDK's encoder throws (sdk-notes.md, sharp edge 4).
        const rsp = RunFunctionResponse.fromPartial({});
        rsp.desired = { composite: undefined, resources: { x: { resource: {} } as never } };
        return rsp;
      }
      const rsp = RunFunctionResponse.fromPartial({ meta: { tag: req.meta?.tag ?? '' } });
      rsp.results.push({ severity: Severity.SEVERITY_WARNING, message: 'careful', reason: 'r', target: 0 });
      return rsp;
    });
    expect((await call(s.c, request(exampleXr('minimal')))).results[0]!.message).toBe('careful');
    mode = 'throw';
    await expect(call(s.c, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: expect.stringContaining('boom') });
    mode = 'unencodable';
    await expect(rawRunFunction(s.c, Buffer.from(RunFunctionRequest.encode(request(exampleXr('minimal'))).finish()))).rejects.toMatchObject({
      code: grpc.status.INTERNAL,
      details: expect.stringContaining('cannot encode'),
    });
    const text = await s.metrics();
    expect(metric(text, 'function_streambus_run_function_calls_total', { result: 'warning' })).toBe(1);
    expect(metric(text, 'function_streambus_run_function_calls_total', { result: 'error' })).toBe(2);
    expect(metric(text, 'function_streambus_run_function_errors_total', { reason: 'handler' })).toBe(1);
    expect(metric(text, 'function_streambus_run_function_errors_total', { reason: 'encode' })).toBe(1);
    expect(metric(text, 'function_streambus_run_function_in_flight')).toBe(0);
    s.close();
  });

  it('refuses to send a response larger than Crossplane accepts', async () => {
    const s = await serve(() => {
      const rsp = RunFunctionResponse.fromPartial({});
      rsp.desired = { composite: undefined, resources: { big: { resource: { data: 'x'.repeat(5 * 1024 * 1024) }, connectionDetails: {}, ready: 0 } } };
      return rsp;
    });
    await expect(call(s.c, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(metric(await s.metrics(), 'function_streambus_run_function_errors_total', { reason: 'too_large' })).toBe(1);
    s.close();
  });
});
