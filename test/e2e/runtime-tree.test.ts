/**
 * The container image's file tree, without Docker: scripts/assemble-runtime.mjs (the script the Dockerfile's build
 * stage runs) assembles it in a temporary folder (the esbuild bundle of the server and its dependencies, and a
 * package.json), and the function is served FROM THAT TREE, with the image's entrypoint arguments, against real
 * RunFunction calls (plain and mutual TLS). Where this machine allows it, the function runs as the image's UID
 * 65532 with the root filesystem read-only. Prints the tree's size.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FunctionRunnerServiceService, Severity } from '@crossplane-org/function-sdk-typescript';
import { client, expectSameAnswersAsReference, runFunction, startServer, type RunningServer } from '../helpers/server.js';
import { exampleXr, request } from '../helpers/fixtures.js';
import { IMAGE_UID, imageLikeSandbox, startCommand } from '../helpers/process.js';
import { IN_CI, ROOT } from '../helpers/tools.js';

type Obj = Record<string, any>;
interface Size {
  bytes: number;
  files: number;
}
interface Summary {
  dest: string;
  entrypoint: string;
  bundle: number;
  total: Size;
}

const TlsClient = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');
/** A TLS client for 127.0.0.1 that checks the server certificate against the name `localhost` (its SAN). */
const tlsClient = (port: number, creds: grpc.ChannelCredentials) =>
  new TlsClient(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
/** Development-only packages whose code must not end up in the bundle (their distinctive module paths). */
const NOT_IN_IMAGE = ['ts-proto/', 'kubernetes-models/', 'google-protobuf/', 'typescript/', 'vitest/', 'fast-check/', 'esbuild/'];

/** Plain JSON (Buffers included), for comparing two responses. */

describe('the runtime image tree (scripts/assemble-runtime.mjs), served without Docker', () => {
  let work: string;
  let tree: string;
  let summary: Summary;
  let sandbox: string[] | undefined;
  let env: NodeJS.ProcessEnv;

  const startFromTree = (extraEnv: NodeJS.ProcessEnv = {}, args: string[] = []) => {
    // The image's entrypoint: `node /fn/function-streambus.mjs`, no arguments but the test's loopback address.
    const argv = [process.execPath, join(tree, summary.entrypoint), '--address', '127.0.0.1:0', ...args];
    const [cmd, ...rest] = sandbox ? [...sandbox, ...argv] : argv;
    return startCommand(cmd!, rest, { cwd: tree, env: { ...env, ...extraEnv } });
  };

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'sb-runtime-'));
    chmodSync(work, 0o755); // the image's files are world-readable; the sandboxed UID must read the tree
    tree = join(work, 'fn');
    const out = execFileSync(process.execPath, [join(ROOT, 'scripts', 'assemble-runtime.mjs'), tree], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
    summary = JSON.parse(out) as Summary;
    // Node resolves packages upwards: nothing above the tree may provide a node_modules folder.
    for (let d = dirname(tree); d !== dirname(d); d = dirname(d)) {
      if (existsSync(join(d, 'node_modules'))) throw new Error(`${d}/node_modules would leak into the tree's resolution`);
    }
    env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent', NODE_ENV: 'production' };
    sandbox = imageLikeSandbox(process.execPath);
    // Under CI the image's conditions (UID 65532, read-only root) are part of the proof: not being able to make them
    // is a failure, not a quieter test run as the current user.
    if (!sandbox && IN_CI) {
      throw new Error(`CI=true and this machine cannot run the function as UID ${IMAGE_UID} on a read-only root filesystem (needs root and mount namespaces)`);
    }
    const s = summary;
    process.stdout.write(
      [
        '',
        '==== runtime image tree (what the Dockerfile copies to /fn) ====',
        `${s.entrypoint} (server + every dependency it imports): ${MB(s.bundle)} (${s.bundle} bytes)`,
        `whole tree: ${MB(s.total.bytes)} (${s.total.bytes} bytes, ${s.total.files} files; no node_modules)`,
        sandbox
          ? `served as UID ${IMAGE_UID} with the root filesystem read-only (unshare --mount + setpriv)`
          : '!! this machine cannot run the function as UID 65532 on a read-only root filesystem (needs root and mount namespaces): served as the current user',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the bundle, its license file and a package.json, nothing else', () => {
    expect(readdirSync(tree).sort()).toEqual(['function-streambus.mjs', 'function-streambus.mjs.LEGAL.txt', 'package.json']);
    const pkg = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'function-streambus', main: 'function-streambus.mjs' });
    expect(pkg.dependencies).toBeUndefined();
    // esbuild's record of what went into the bundle: the runtime packages, and none of the development ones.
    const inputs: string[] = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', `${summary.entrypoint}.meta.json`), 'utf8')).inputs;
    for (const p of ['@grpc/grpc-js/', '@crossplane-org/function-sdk-typescript/', 'zod/', 'pino/', 'prom-client/']) {
      expect(inputs.some((i) => i.includes(`node_modules/${p}`)), p).toBe(true);
    }
    for (const p of NOT_IN_IMAGE) expect(inputs.filter((i) => i.includes(`node_modules/${p}`)), p).toEqual([]);
    expect(summary.bundle).toBeLessThan(4e6);
  });

  it('serves RunFunction from the tree exactly as the development build does, for every example', async () => {
    const fromTree = await startFromTree({}, ['--insecure']);
    const dev: RunningServer = await startServer();
    try {
      const t = client(fromTree.port);
      const d = client(dev.port);
      await expectSameAnswersAsReference(t, d);
      t.close();
      d.close();
    } finally {
      expect(await fromTree.stop()).toBe(0); // drains and exits cleanly on SIGTERM
      await dev.stop();
    }
  });

  it('serves mutual TLS from TLS_SERVER_CERTS_DIR, as Crossplane runs it, and refuses clients without a certificate', async (ctx) => {
    if (spawnSync('openssl', ['version']).status !== 0) {
      if (IN_CI) throw new Error('CI=true and openssl is missing: cannot make the TLS certificates');
      process.stderr.write('\n!!!!!!!!!! SKIPPED: openssl is missing, the TLS run of the runtime tree is skipped !!!!!!!!!!\n\n');
      ctx.skip();
    }
    const certs = join(work, 'tls');
    mkdirSync(certs, { mode: 0o755 });
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
    writeFileSync(join(certs, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
    for (const who of ['tls', 'client']) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who === 'tls' ? 'function-streambus' : 'crossplane'}`, '-keyout', `${who}.key`, '-out', `${who}.csr`);
      ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${who}.crt`, ...(who === 'tls' ? ['-extfile', 'san.ext'] : []));
    }
    for (const f of readdirSync(certs)) chmodSync(join(certs, f), 0o644); // test keys, readable by the sandboxed UID
    const read = (f: string) => readFileSync(join(certs, f));

    const srv = await startFromTree({ TLS_SERVER_CERTS_DIR: certs });
    try {
      expect(srv.logs.join('\n')).toContain('"tls":true');
      const mtls = tlsClient(srv.port, grpc.credentials.createSsl(read('ca.crt'), read('client.key'), read('client.crt')));
      const rsp = await runFunction(mtls, request(exampleXr('minimal')));
      expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
      expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(['config', 'headless-service', 'client-service', 'statefulset']));
      mtls.close();
      const anonymous = tlsClient(srv.port, grpc.credentials.createSsl(read('ca.crt')));
      await expect(runFunction(anonymous, request(exampleXr('minimal')))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      anonymous.close();
    } finally {
      await srv.stop();
    }
  });
});
