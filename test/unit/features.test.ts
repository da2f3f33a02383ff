/** Every field of the API gets behaviour: security, multi-tenancy, observability, HA, direct mode. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Severity, Status } from '@crossplane-org/function-sdk-typescript';
import { FunctionInputSpec, StreamBusClusterSpec } from '../../src/api/schema.js';
import { runFunction } from '../../src/function/handler.js';
import { unenforcedFeatures } from '../../src/render/enforcement.js';
import { renderCluster } from '../../src/render/index.js';
import { buildModel } from '../../src/render/model.js';
import { formatBytes, formatCpu, parseQuantity } from '../../src/k8s/quantity.js';
import { brokerQuotas } from '../../src/render/tenancy.js';
import { EXAMPLES, exampleXr, loadYaml, request } from '../helpers/fixtures.js';
import { validateManifest } from '../helpers/k8s.js';

type Obj = Record<string, any>;
const input = FunctionInputSpec.parse({});
const render = (spec: unknown) => {
  const m = buildModel({ name: 'sb', namespace: 'ns' }, StreamBusClusterSpec.parse(spec), input);
  return Object.fromEntries(renderCluster(m).map((c) => [c.key, c.manifest as Obj]));
};
const cfg = (r: Obj) => parse(r.config.data['broker.yaml']);
const podSpec = (r: Obj) => r.statefulset.spec.template.spec;
const container = (r: Obj) => podSpec(r).containers[0];

describe('security', () => {
  const r = render({
    security: {
      tls: { enabled: true, certSecretName: 'certs', caSecretName: 'ca', clientAuthRequired: true },
      authentication: { enabled: true, method: 'jwt', allowedMethods: ['mtls', 'jwt'], jwtSecretName: 'jwt', sasl: { mechanism: 'SCRAM-SHA-512', secretName: 'sasl' } },
      authorization: { enabled: true, defaultPolicy: 'deny' },
    },
  });

  it('mounts every secret read-only and never inlines it: TLS Secrets in the TLS sidecar only', () => {
    const mounts = container(r).volumeMounts.filter((v: Obj) => v.readOnly && v.name !== 'config');
    expect(mounts.map((v: Obj) => [v.name, v.mountPath])).toEqual([
      ['jwt', '/etc/streambus/jwt'],
      ['sasl', '/etc/streambus/sasl'],
    ]);
    expect(podSpec(r).containers[1].volumeMounts.map((v: Obj) => [v.name, v.mountPath, v.readOnly])).toEqual([
      ['tls', '/etc/streambus/tls', true],
      ['tls-ca', '/etc/streambus/ca', true],
    ]);
    expect(podSpec(r).volumes.filter((v: Obj) => v.secret).map((v: Obj) => v.secret.secretName)).toEqual(['certs', 'ca', 'jwt', 'sasl']);
    expect(JSON.stringify(r)).not.toMatch(/BEGIN CERTIFICATE|PRIVATE KEY/);
  });

  it('renders the broker security keys with file paths; no tls section (the sidecar terminates TLS)', () => {
    expect(cfg(r).security).toEqual({
      authentication: { enabled: true, method: 'jwt', allowed_methods: ['mtls', 'jwt'], jwt: { secret_file: '/etc/streambus/jwt/secret' } },
      sasl: { enabled: true, mechanism: 'SCRAM-SHA-512', credentials_dir: '/etc/streambus/sasl' },
      acl: { enabled: true, default_policy: 'deny' },
    });
  });

  it('TLS: a ghostunnel sidecar serves the client port; the broker listens on loopback only', () => {
    expect(cfg(r).server).toMatchObject({ host: '127.0.0.1', port: 19092, http_port: 8081 });
    const [broker, proxy] = podSpec(r).containers;
    expect(broker.ports.map((p: Obj) => p.name)).toEqual(['http', 'raft']);
    expect(broker.readinessProbe).toBeUndefined();
    expect(broker.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(proxy.name).toBe('tls-proxy');
    expect(proxy.image).toBe('ghostunnel/ghostunnel:v1.8.4');
    expect(proxy.command).toBeUndefined();
    expect(proxy.args).toEqual([
      'server',
      '--listen=0.0.0.0:9092',
      '--target=127.0.0.1:19092',
      '--cert=/etc/streambus/tls/tls.crt',
      '--key=/etc/streambus/tls/tls.key',
      '--cacert=/etc/streambus/ca/ca.crt',
      '--allow-all',
      '--timed-reload=60s',
      '--status=http://0.0.0.0:8082',
      '--shutdown-timeout=30s',
    ]);
    expect(proxy.ports).toEqual([
      { name: 'client', containerPort: 9092, protocol: 'TCP' },
      { name: 'proxy-status', containerPort: 8082, protocol: 'TCP' },
    ]);
    expect(proxy.readinessProbe.httpGet).toEqual({ path: '/_status', port: 'proxy-status' });
    expect(proxy.livenessProbe.tcpSocket).toEqual({ port: 'proxy-status' });
    expect(proxy.resources).toEqual({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '500m', memory: '128Mi' } });
    expect(proxy.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // The Services' targetPort 'client' now names the sidecar's port.
    expect(r['client-service'].spec.ports[0].targetPort).toBe('client');
    expect(() => validateManifest(r.statefulset)).not.toThrow();
  });

  it('TLS without client auth: no client certificate asked; mtls by method; the image is a platform default', () => {
    const oneWay = render({ security: { tls: { enabled: true, certSecretName: 'certs' } } });
    const args = podSpec(oneWay).containers[1].args;
    expect(args).toContain('--disable-authentication');
    expect(args.some((a: string) => a.startsWith('--cacert'))).toBe(false);
    const byMethod = render({ security: { tls: { enabled: true, certSecretName: 'certs' }, authentication: { enabled: true, method: 'mtls' } } });
    expect(podSpec(byMethod).containers[1].args).toEqual(expect.arrayContaining(['--cacert=/etc/streambus/tls/ca.crt', '--allow-all']));
    const m = buildModel(
      { name: 'sb', namespace: 'ns' },
      StreamBusClusterSpec.parse({ security: { tls: { enabled: true, certSecretName: 'certs' } } }),
      FunctionInputSpec.parse({ tlsProxyImage: 'registry.example/ghostunnel@sha256:abc', tlsProxyReloadInterval: '5m' }),
    );
    const sts = renderCluster(m).find((c) => c.key === 'statefulset')!.manifest as Obj;
    expect(sts.spec.template.spec.containers[1].image).toBe('registry.example/ghostunnel@sha256:abc');
    expect(sts.spec.template.spec.containers[1].args).toContain('--timed-reload=5m');
    expect(podSpec(render({})).containers).toHaveLength(1);
    expect(cfg(render({})).server).toMatchObject({ host: '0.0.0.0', port: 9092 });
  });

  it('accepts the operator API alias tls.secretName', () => {
    const a = render({ security: { tls: { enabled: true, secretName: 'old' } } });
    expect(podSpec(a).volumes.find((v: Obj) => v.name === 'tls').secret.secretName).toBe('old');
  });

  it('fences Raft and the admin API with a NetworkPolicy', () => {
    const np = r['network-policy'];
    const [client, raft, http] = np.spec.ingress;
    expect(client).toEqual({ ports: [{ protocol: 'TCP', port: 9092 }] });
    expect(raft).toEqual({ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'streambus-broker', 'app.kubernetes.io/instance': 'sb' } } }], ports: [{ protocol: 'TCP', port: 9093 }] });
    expect(http.ports).toEqual([{ protocol: 'TCP', port: 8081 }]);
    expect(http.from).toHaveLength(3);
    expect(np.spec.policyTypes).toEqual(['Ingress']);
  });

  it.each([
    [{ security: { tls: { enabled: true } } }, 'spec.security.tls.certSecretName: required when security.tls.enabled is true'],
    [{ security: { tls: { clientAuthRequired: true } } }, 'spec.security.tls.clientAuthRequired: needs security.tls.enabled: true'],
    [{ security: { authentication: { enabled: true, method: 'jwt' } } }, 'spec.security.authentication.jwtSecretName: required'],
    [{ observability: { tracing: { enabled: true } } }, 'spec.observability.tracing.endpoint: required'],
    [{ multiTenancy: { tenantOverrides: [{ tenantId: 'a', quotas: {} }, { tenantId: 'a', quotas: {} }] } }, 'spec.multiTenancy.tenantOverrides: tenantId values must be unique'],
    [{ multiTenancy: { defaultQuotas: { maxTopics: 0 } } }, 'spec.multiTenancy.defaultQuotas.maxTopics: must be ≥ 1'],
    [{ multiTenancy: { defaultQuotas: { maxBandwidthMBps: -5 } } }, 'spec.multiTenancy.defaultQuotas.maxBandwidthMBps: must be > 0'],
  ])('refuses %j naming the field', (spec, message) => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec = { ...xr.spec, ...spec };
    const rsp = runFunction(request(xr));
    expect(rsp.results).toHaveLength(1);
    expect(rsp.results[0]!.severity).toBe(Severity.SEVERITY_FATAL);
    expect(rsp.results[0]!.message).toContain(message);
  });
});

describe('multi-tenancy', () => {
  it('maps quotas onto the broker fields with unit conversion (MB = 1e6 B, GB = 1e9 B)', () => {
    expect(brokerQuotas({ maxTopics: 100, maxPartitionsPerTopic: 10, maxConnections: 1000, maxBandwidthMBps: 100, maxStorageGB: 50, maxMessagesPerSecond: 10000 })).toEqual({
      MaxBytesPerSecond: 100_000_000,
      MaxMessagesPerSecond: 10000,
      MaxStorageBytes: 50_000_000_000,
      MaxTopics: 100,
      MaxPartitions: 1000,
      MaxConnections: 1000,
    });
  });

  it('renders defaults and per-tenant overrides merged field by field', () => {
    const r = render(exampleXr('multi-tenant').spec);
    const t = cfg(r).tenancy;
    expect(t.enabled).toBe(true);
    expect(t.rate_limiting).toBe(true);
    expect(t.default_quotas.MaxBytesPerSecond).toBe(100_000_000);
    expect(t.tenants.map((x: Obj) => [x.id, x.quotas.MaxTopics, x.quotas.MaxPartitions, x.quotas.MaxStorageBytes])).toEqual([
      ['premium-tenant-1', 500, 25000, 500_000_000_000],
      ['basic-tenant-1', 10, 30, 10_000_000_000],
    ]);
  });

  it('isolation.networkPolicies restricts the client port to the namespace and labelled namespaces', () => {
    const r = render({ multiTenancy: { enabled: true, isolation: { networkPolicies: true } } });
    expect(r['network-policy'].spec.ingress[0].from).toEqual([{ podSelector: {} }, { namespaceSelector: { matchLabels: { 'streambus.io/client-access': 'true' } } }]);
  });

  it('isolation.resourceQuotas sizes a ResourceQuota from replicas × per-broker needs', () => {
    const r = render(exampleXr('multi-tenant').spec);
    // 5 × (broker + TLS sidecar: requests 10m/32Mi, limits 500m/128Mi).
    expect(r['resource-quota'].spec.hard).toEqual({
      'limits.cpu': '42500m',
      'limits.memory': '82560Mi',
      persistentvolumeclaims: '10',
      pods: '5',
      'requests.cpu': '10050m',
      'requests.memory': '20640Mi',
      'requests.storage': '1500Gi',
    });
    expect(render({ multiTenancy: { enabled: true } })['resource-quota']).toBeUndefined();
  });
});

describe('observability', () => {
  const r = render(exampleXr('multi-tenant').spec);

  it('adds scrape annotations (user annotations win) and a metrics port on the headless Service', () => {
    expect(r.statefulset.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8081', 'prometheus.io/path': '/metrics' });
    const p = render({ podAnnotations: { 'prometheus.io/path': '/custom' } });
    expect(p.statefulset.spec.template.metadata.annotations['prometheus.io/path']).toBe('/custom');
    expect(r['headless-service'].spec.ports.find((x: Obj) => x.name === 'metrics').port).toBe(8081);
  });

  it('serviceMonitor → a ServiceMonitor on the headless Service with the interval, and a PrometheusRule', () => {
    const sm = render({ observability: { metrics: { serviceMonitor: true, interval: '15s' } } })['service-monitor'];
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s', scheme: 'http' }]);
    expect(sm.spec.selector.matchLabels['streambus.io/service']).toBe('headless');
    const alerts = r['prometheus-rule'].spec.groups[0].rules.map((x: Obj) => x.alert);
    expect(alerts).toEqual(['StreamBusBrokerDown', 'StreamBusBrokersNotReady', 'StreamBusStorageFilling', 'StreamBusBrokerRestarting']);
    expect(render({})['service-monitor']).toBeUndefined();
  });

  it('ships valid Grafana dashboards labelled for the sidecar', () => {
    for (const key of ['dashboard-cluster', 'dashboard-tenancy']) {
      const cm = r[key];
      expect(cm.metadata.labels.grafana_dashboard).toBe('1');
      const [file, json] = Object.entries<string>(cm.data)[0]!;
      expect(file).toMatch(/\.json$/);
      const d = JSON.parse(json);
      expect(d.title).toMatch(/StreamBus/);
      expect(d.panels.length).toBeGreaterThan(3);
      for (const p of d.panels) expect(p.targets[0].expr).toBeTruthy();
    }
  });

  it('renders tracing and logging into broker.yaml and the environment', () => {
    const t = render({ observability: { tracing: { enabled: true, endpoint: 'tempo:4317', samplingRate: 0.5, includeTenantId: true }, logging: { level: 'debug', format: 'text', includeTenantContext: true, auditLog: { enabled: true, level: 'detailed' } } } });
    expect(cfg(t).observability).toEqual({
      logging: { level: 'debug', format: 'text', include_tenant_context: true, audit: { enabled: true, level: 'detailed' } },
      tracing: { enabled: true, endpoint: 'tempo:4317', sampling_rate: 0.5, include_tenant_id: true },
    });
    const env = Object.fromEntries(container(t).env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({ LOG_LEVEL: 'debug', LOG_FORMAT: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4317', OTEL_TRACES_SAMPLER_ARG: '0.5' });
  });
});

describe('high availability and scheduling', () => {
  it('defaults to host anti-affinity and a zone spread; passes the user affinity through instead', () => {
    const d = podSpec(render({}));
    expect(d.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(d.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
    const spec = exampleXr('production').spec as Obj;
    const p = podSpec(render(spec));
    expect(p.affinity).toEqual(spec.affinity);
    expect(p.topologySpreadConstraints).toBeUndefined();
    expect(p.nodeSelector).toEqual({ workload: 'streaming' });
    expect(p.tolerations).toEqual(spec.tolerations);
  });

  it('a PodDisruptionBudget with maxUnavailable 1 for more than one replica', () => {
    expect(render({ replicas: 3 }).pdb.spec.maxUnavailable).toBe(1);
    expect(render({ replicas: 1 }).pdb).toBeUndefined();
  });

  it('pull policy, pull secrets, priority class', () => {
    const r = render({ image: { pullPolicy: 'Always', pullSecrets: ['regcred'] }, priorityClassName: 'high' });
    expect(container(r).imagePullPolicy).toBe('Always');
    expect(podSpec(r).imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(podSpec(r).priorityClassName).toBe('high');
  });

  it('a restricted security context with writable mounts only where the broker writes', () => {
    const r = render({});
    expect(podSpec(r).securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(container(r).securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(container(r).volumeMounts.filter((v: Obj) => !v.readOnly).map((v: Obj) => v.mountPath)).toEqual(['/data', '/raft', '/tmp']);
  });
});

describe('honesty: features the broker does not enforce', () => {
  it('lists exactly what the secure example asks for and v1.0.1 ignores', () => {
    const spec = StreamBusClusterSpec.parse(exampleXr('secure').spec);
    // TLS and mutual TLS are enforced by the TLS sidecar; jwt (an allowed method) is not.
    expect(unenforcedFeatures(spec).map((u) => u.field)).toEqual([
      'replicas (data replication)',
      'security.authentication',
      'security.authorization',
      'multiTenancy',
      'observability.metrics',
      'observability.tracing',
      'observability.logging.auditLog',
    ]);
  });

  it('gives the claim a WARNING result and a FeaturesEnforced=False condition naming them', () => {
    const rsp = runFunction(request(exampleXr('secure')));
    const w = rsp.results.filter((r) => r.severity === Severity.SEVERITY_WARNING && r.reason === 'FeaturesNotEnforced');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toMatch(/^configured but not enforced by StreamBus v1\.0\.1: replicas \(data replication\) \(topics and messages are not replicated/);
    expect(w[0]!.message).toContain('; security.authentication (');
    expect(w[0]!.message).not.toMatch(/security\.tls(\.clientAuthRequired)? \(/);
    const c = rsp.conditions.find((x) => x.type === 'FeaturesEnforced')!;
    expect(c.status).toBe(Status.STATUS_CONDITION_FALSE);
    expect(c.message).toContain('security.authorization');
  });

  it('mtls alone with TLS on is enforced; mtls without TLS, jwt and sasl are not', () => {
    const fields = (security: unknown) => unenforcedFeatures(StreamBusClusterSpec.parse({ replicas: 1, security })).map((u) => u.field);
    expect(fields({ tls: { enabled: true, certSecretName: 'c', clientAuthRequired: true }, authentication: { enabled: true, method: 'mtls' } })).toEqual([]);
    expect(fields({ tls: { enabled: true, certSecretName: 'c' } })).toEqual([]);
    expect(fields({ authentication: { enabled: true, method: 'mtls' } })).toEqual(['security.authentication']);
    expect(fields({ tls: { enabled: true, certSecretName: 'c' }, authentication: { enabled: true, method: 'jwt', jwtSecretName: 'j' } })).toEqual(['security.authentication']);
  });

  it('no warning when nothing unenforced is asked for', () => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    delete xr.spec.observability;
    xr.spec.replicas = 1; // more than one broker asks for data replication, which v1.0.1 does not do
    const rsp = runFunction(request(xr));
    expect(rsp.results).toEqual([]);
    expect(rsp.conditions.find((x) => x.type === 'FeaturesEnforced')!.status).toBe(Status.STATUS_CONDITION_TRUE);
  });
});

describe('AppArmor annotations naming a container the pod does not have (the seed\'s secure example)', () => {
  const sts = (rsp: ReturnType<typeof runFunction>) => (rsp.desired!.resources.statefulset!.resource as Obj).spec.forProvider.manifest;
  it('moves the profile to the broker container, drops the annotation and says so', () => {
    const rsp = runFunction(request(exampleXr('secure')));
    const s = sts(rsp);
    expect(s.spec.template.metadata.annotations).not.toHaveProperty(['container.apparmor.security.beta.kubernetes.io/manager']);
    expect(s.spec.template.metadata.annotations['seccomp.security.alpha.kubernetes.io/pod']).toBe('runtime/default');
    const broker = s.spec.template.spec.containers.find((c: Obj) => c.name === 'broker');
    expect(broker.securityContext.appArmorProfile).toEqual({ type: 'RuntimeDefault' });
    const w = rsp.results.filter((r) => r.reason === 'PodAnnotationRewritten');
    expect(w).toHaveLength(1);
    expect(w[0]!.severity).toBe(Severity.SEVERITY_WARNING);
    expect(w[0]!.message).toContain('spec.podAnnotations["container.apparmor.security.beta.kubernetes.io/manager"]: the pod has no container "manager"');
  });
  it('maps a Localhost profile', () => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec.podAnnotations = { 'container.apparmor.security.beta.kubernetes.io/manager': 'localhost/streambus' };
    const broker = sts(runFunction(request(xr))).spec.template.spec.containers[0];
    expect(broker.securityContext.appArmorProfile).toEqual({ type: 'Localhost', localhostProfile: 'streambus' });
  });
  it.each([
    ['another missing container', 'container.apparmor.security.beta.kubernetes.io/app', 'runtime/default'],
    ['an unconfined profile', 'container.apparmor.security.beta.kubernetes.io/manager', 'unconfined'],
  ])('refuses %s with a FATAL naming the annotation (platform policy)', (_n, key, value) => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec.podAnnotations = { [key]: value };
    const rsp = runFunction(request(xr));
    const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
    expect(fatal?.message).toContain(`spec.podAnnotations["${key}"]`);
  });
  it('keeps an annotation that names the broker container as it is', () => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec.podAnnotations = { 'container.apparmor.security.beta.kubernetes.io/broker': 'runtime/default' };
    const rsp = runFunction(request(xr));
    const s = sts(rsp);
    expect(s.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/broker']).toBe('runtime/default');
    expect(s.spec.template.spec.containers[0].securityContext.appArmorProfile).toBeUndefined();
    expect(rsp.results.filter((r) => r.reason === 'PodAnnotationRewritten')).toEqual([]);
  });
});

describe('quantities', () => {
  it.each([
    ['10Gi', 10 * 2 ** 30],
    ['500m', 0.5],
    ['2', 2],
    ['1.5G', 1.5e9],
    ['1e3', 1000],
  ])('%s', (q, v) => expect(parseQuantity(q)).toBe(v));
  it('formats', () => {
    expect(formatBytes(1500 * 2 ** 30)).toBe('1500Gi');
    expect(formatBytes(3 * 512 * 2 ** 20)).toBe('1536Mi');
    expect(formatCpu(1.5)).toBe('1500m');
    expect(formatCpu(40)).toBe('40');
  });
});

const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Service: 'services',
  ResourceQuota: 'resourcequotas',
  StatefulSet: 'statefulsets',
  NetworkPolicy: 'networkpolicies',
  PodDisruptionBudget: 'poddisruptionbudgets',
  ServiceMonitor: 'servicemonitors',
  PrometheusRule: 'prometheusrules',
};

describe('direct mode', () => {
  it('the shipped ClusterRole covers every kind any example composes', () => {
    const role = loadYaml('deploy/rbac/direct-mode-clusterrole.yaml') as Obj;
    expect(role.metadata.labels['rbac.crossplane.io/aggregate-to-crossplane']).toBe('true');
    const allowed = new Set<string>();
    for (const rule of role.rules) for (const g of rule.apiGroups) for (const r of rule.resources) if (rule.verbs.includes('delete') && rule.verbs.includes('patch')) allowed.add(`${g}/${r}`);
    const input = loadYaml('compositions/composition-direct.yaml').spec.pipeline[0].input;
    for (const ex of EXAMPLES) {
      const rsp = runFunction(request(exampleXr(ex), { input }));
      for (const res of Object.values(rsp.desired!.resources)) {
        const o = res.resource as Obj;
        const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
        const plural = PLURALS[o.kind];
        expect(plural, `${ex}: no plural known for ${o.kind}: add it here and to the ClusterRole`).toBeDefined();
        expect(allowed.has(`${group}/${plural}`), `${ex}: ${group}/${plural}`).toBe(true);
        validateManifest(o);
      }
    }
  });
});

describe('quantities at the extremes', () => {
  it.each([
    [1.007e18 * 3, /^[0-9]+m?$/],
    [3.021e18, /^[0-9]+m?$/],
  ])('formatCpu(%d) is a plain quantity', (v, re) => expect(formatCpu(v)).toMatch(re));
  it('formatBytes never prints an exponent', () => {
    expect(formatBytes(8 * 2 ** 60)).toBe('8Ei');
    expect(formatBytes(3.5e21)).toMatch(/^[0-9]+(Ki|Mi|Gi|Ti|Pi|Ei)?$/);
    expect(formatCpu(3.020999999999999e21 / 1000)).not.toMatch(/e/);
  });
});

describe('port collisions', () => {
  it.each([
    [{ port: 8081 }],
    [{ grpcPort: 9092 }],
    [{ raftPort: 8081 }],
  ])('config %j is refused naming the ports', (config) => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec.config = { ...xr.spec.config, ...config };
    const rsp = runFunction(request(xr));
    expect(rsp.results[0]!.severity).toBe(Severity.SEVERITY_FATAL);
    expect(rsp.results[0]!.message).toContain('spec.config.httpPort: config.port, config.httpPort and the Raft port');
  });
  it('raftPort may differ from grpcPort freely', () => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec.config = { ...xr.spec.config, raftPort: 7000 };
    expect(runFunction(request(xr)).results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
  });
});

describe('tolerations follow Kubernetes rules', () => {
  it.each([
    [{ operator: 'Equal', value: 'x', effect: 'NoSchedule' }, 'spec.tolerations[0].operator: a toleration without a key must use operator Exists'],
    [{ key: 'k', operator: 'Exists', value: 'x' }, 'spec.tolerations[0].value: operator Exists takes no value'],
    [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule', tolerationSeconds: 30 }, 'spec.tolerations[0].tolerationSeconds: tolerationSeconds needs effect NoExecute'],
  ])('%j is refused', (t, message) => {
    const xr = structuredClone(exampleXr('minimal')) as Obj;
    xr.spec.tolerations = [t];
    const rsp = runFunction(request(xr));
    expect(rsp.results[0]!.severity).toBe(Severity.SEVERITY_FATAL);
    expect(rsp.results[0]!.message).toContain(message);
  });
  it('the XRD carries the same rules as CEL on each toleration', () => {
    const xrd = loadYaml('apis/xrd.yaml') as Obj;
    const items = xrd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.tolerations.items;
    expect(items['x-kubernetes-validations'].map((v: Obj) => v.message)).toEqual([
      'operator: a toleration without a key must use operator Exists',
      'value: operator Exists takes no value',
      'tolerationSeconds: tolerationSeconds needs effect NoExecute',
    ]);
  });
});
