/**
 * The rendered configuration and container command, run the way a pod runs them, read by the broker's own
 * configuration library.
 *
 * This is the fine-grained layer: the real broker v1.0.1 is installed (scripts/install-tools.sh: from the Go module
 * proxy, or, where the proxy refuses the module, the checksummed upstream release in ../shared/tools) and the rendered
 * pods run it in test/e2e/brokerpods.test.ts and brokertls.test.ts, which show that it starts, forms a Raft quorum and
 * serves with this configuration. What those cannot show is each value the broker read; so test/configcheck re-creates
 * the broker v1.0.1's start-up reading (a stand-in for the broker's own code, checked by the real broker in those tests):
 * the same cobra flags bound to the same viper keys, viper v1.21.0 with SetEnvPrefix("STREAMBUS") and
 * AutomaticEnv, the same key reads and the same peer parsing, and prints what the broker would start with.
 * The rendered command runs through /bin/sh with POD_NAME set as the downward API would set it; the only
 * substitutions are the broker binary (→ configcheck) and the ConfigMap mount path (→ a temp file).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runFunction } from '../../src/function/handler.js';
import { BROKER_BINARY, CONFIG_DIR, CONFIG_FILE } from '../../src/render/model.js';
import { compositionInput, EXAMPLES, exampleXr, request } from '../helpers/fixtures.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
type Obj = Record<string, any>;
const configcheck = requireTool('streambus-configcheck', 'the broker-config checks need test/configcheck built');
const DIRECT = compositionInput('compositions/composition-direct.yaml');

function rendered(xr: Obj) {
  const rsp = runFunction(request(xr, { input: DIRECT }));
  const res = Object.fromEntries(Object.entries(rsp.desired!.resources).map(([k, r]) => [k, r.resource as Obj]));
  const container = res.statefulset!.spec.template.spec.containers[0];
  return { brokerYaml: res.config!.data[CONFIG_FILE] as string, container, sts: res.statefulset! };
}

/** Runs the container's command for pod `pod` against `brokerYaml`; returns what the broker would start with. */
async function startPod(container: Obj, brokerYaml: string, pod: string): Promise<Obj> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cfg-'));
  const cfg = join(dir, CONFIG_FILE);
  writeFileSync(cfg, brokerYaml);
  expect(container.command).toEqual(['/bin/sh', '-c']);
  const script = (container.args[0] as string).replace(BROKER_BINARY, configcheck!).replace(`${CONFIG_DIR}/${CONFIG_FILE}`, cfg);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const e of container.env) {
    if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = pod;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = 'ns';
    else if (typeof e.value === 'string') env[e.name] = e.value;
  }
  const { stdout } = await run(container.command[0], [container.command[1], script], { env, timeout: 20_000 });
  return JSON.parse(stdout);
}

describe.skipIf(!configcheck)('rendered broker.yaml and command, read as the broker reads them', () => {
  for (const ex of EXAMPLES) {
    it(`${ex}: every pod gets a unique id and the full, identical peer list`, async () => {
      const xr = exampleXr(ex) as Obj;
      const { brokerYaml, container, sts } = rendered(xr);
      const n = sts.spec.replicas as number;
      const seen = new Set<number>();
      for (let i = 0; i < n; i++) {
        const c = await startPod(container, brokerYaml, `${sts.metadata.name}-${i}`);
        expect(c.brokerId).toBe(i + 1);
        seen.add(c.brokerId);
        expect(c.warnings).toEqual([]);
        expect(c.peers.map((p: Obj) => p.id)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
        expect(c.peers[i].addr).toBe(`${sts.metadata.name}-${i}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local:9093`);
        // With TLS the sidecar serves 9092 and the broker listens on the pod's loopback (src/render/tlsproxy.ts).
        const tls = !!xr.spec.security?.tls?.enabled;
        expect(c).toMatchObject({ host: tls ? '127.0.0.1' : '0.0.0.0', port: tls ? 19092 : 9092, httpPort: 8081, dataDir: '/data', raftDataDir: '/raft' });
        expect(c.logLevel).toBe(xr.spec.observability?.logging?.level ?? xr.spec.config.logLevel);
      }
      expect(seen.size).toBe(n);
    });
  }

  it('fails like the broker when the render is broken: no peers, no id, a malformed peer', async () => {
    const { brokerYaml, container } = rendered(exampleXr('minimal') as Obj);
    const cfg = JSON.parse(brokerYaml.replace(/^#.*\n/, ''));
    const noPeers = JSON.stringify({ ...cfg, cluster: { ...cfg.cluster, peers: [] } });
    await expect(startPod(container, noPeers, 'streambus-minimal-0')).rejects.toThrow(/cluster\.peers must have at least one peer/);
    const noId = { ...container, args: [container.args[0].replace(/ --broker-id=.*$/, '')] };
    await expect(startPod(noId, brokerYaml, 'streambus-minimal-0')).rejects.toThrow(/server\.broker_id must be set/);
    const bad = JSON.stringify({ ...cfg, cluster: { ...cfg.cluster, peers: ['1:h:1:2', ...cfg.cluster.peers.slice(1)] } });
    const c = await startPod(container, bad, 'streambus-minimal-1');
    expect(c.warnings).toEqual(['invalid peer format: 1:h:1:2']);
    expect(c.peers).toHaveLength(2);
  });
});
