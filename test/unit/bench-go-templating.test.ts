/**
 * The benchmark's Go peer (bench/go-templating.ts): the binary is refused unless it is the pinned
 * function-go-templating build, and the template it is given reads the cluster's identity from the request and keeps
 * the manifests' own `{{`/`}}` literal. (That function-go-templating renders exactly function-streambus's resources
 * from it is checked by the benchmark itself, against the real binary, in every run: npm test runs it.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { GO_TEMPLATING_SHA256, META_API_VERSION, NAME_ANNOTATION, READY_ANNOTATION, goTemplate, goTemplatingInput, locateGoTemplating } from '../../bench/go-templating.js';

const saved = process.env.FUNCTION_GO_TEMPLATING;
afterEach(() => {
  if (saved === undefined) delete process.env.FUNCTION_GO_TEMPLATING;
  else process.env.FUNCTION_GO_TEMPLATING = saved;
});

describe('locateGoTemplating', () => {
  it('refuses a file that is not the pinned build, naming both checksums', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-gotmpl-'));
    try {
      const fake = join(dir, 'function-go-templating');
      writeFileSync(fake, '#!/bin/sh\necho not the real one\n', { mode: 0o755 });
      process.env.FUNCTION_GO_TEMPLATING = fake;
      const got = locateGoTemplating('/nonexistent-root');
      expect(got).toHaveProperty('problem');
      const problem = (got as { problem: string }).problem;
      expect(problem).toContain(GO_TEMPLATING_SHA256);
      expect(problem).toContain('refusing to run it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says where it looked when the binary is missing', () => {
    process.env.FUNCTION_GO_TEMPLATING = '/nonexistent/function-go-templating';
    expect(locateGoTemplating('/nonexistent-root')).toEqual({ problem: 'function-go-templating v0.12.2 not found at /nonexistent/function-go-templating' });
  });

  it('looks beside the project by default: ../shared/tools/function-go-templating-v0.12.2/', () => {
    delete process.env.FUNCTION_GO_TEMPLATING;
    expect(locateGoTemplating('/nonexistent-root')).toEqual({
      problem: 'function-go-templating v0.12.2 not found at /shared/tools/function-go-templating-v0.12.2/function-go-templating',
    });
  });
});

describe('goTemplate', () => {
  const xr = {
    apiVersion: 'streambus.io/v1alpha1',
    kind: 'XStreamBusCluster',
    metadata: { name: 'sb-x7k2p', labels: { 'crossplane.io/claim-name': 'sb', 'crossplane.io/claim-namespace': 'prod' } },
    spec: { replicas: 3, podLabels: { team: 'payments' } },
  };
  const composed = {
    config: {
      ready: 1,
      resource: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'sb-config', namespace: 'prod', labels: { team: 'payments', tier: 'payments' } },
        data: { alert: 'broker {{ $labels.pod }} is down', peers: 'sb-0.sb-headless.prod.svc' },
      },
    },
    statefulset: { ready: 2, resource: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'sb' }, spec: { replicas: 3, minReadySeconds: 3 } } },
  };
  const t = goTemplate(xr, {
    composed,
    status: { phase: 'Running', endpoints: ['sb-0.sb-headless.prod.svc:9092'] },
    connectionDetails: { endpoint: Buffer.from('http://sb.prod.svc:8081') },
    extraResources: { ca: { apiVersion: 'v1', kind: 'Secret', matchName: 'ca', namespace: 'prod' } },
  });
  /** The template's documents, every action replaced by `x`. */
  const docs = () => parseAllDocuments(t.replace(/\{\{[^}]*\}\}/g, 'x')).map((d) => d.toJS());

  it('names each resource and its readiness in the annotations function-go-templating reads', () => {
    expect(t).toContain(`${NAME_ANNOTATION}: config\n`);
    expect(t).toContain(`${READY_ANNOTATION}: "True"\n`);
    expect(t).toContain(`${NAME_ANNOTATION}: statefulset\n`);
    expect(t).toContain(`${READY_ANNOTATION}: "False"\n`);
  });

  it('reads the identity and the copied spec values from the request, and nothing that merely looks alike', () => {
    expect(t).toContain('{{- $claim := index .observed.composite.resource.metadata.labels "crossplane.io/claim-name" }}\n');
    expect(t).toContain('{{- $ns := index .observed.composite.resource.metadata.labels "crossplane.io/claim-namespace" }}\n');
    expect(t).toContain('{{- $spec := .observed.composite.resource.spec }}\n');
    const CLAIM = '{{ $claim }}';
    const NS = '{{ $ns }}';
    expect(t).toContain(`name: ${CLAIM}-config\n`);
    expect(t).toContain(`namespace: ${NS}\n`);
    expect(t).toContain(`peers: ${CLAIM}-0.${CLAIM}-headless.${NS}.svc\n`);
    expect(t).toContain('team: {{ toJson (index $spec "podLabels" "team") }}\n');
    expect(t).toContain('tier: payments\n'); // same value, another key: literal
    expect(t).toContain('replicas: {{ toJson (index $spec "replicas") }}\n');
    expect(t).toContain('minReadySeconds: 3\n');
    expect(t.split('\n').filter((l) => l.includes('sb-x7k2p'))).toEqual([]);
  });

  it("keeps the manifests' own braces literal", () => {
    expect(t).toContain('alert: broker {{`{{`}} $labels.pod {{`}}`}} is down\n');
  });

  it('ends with the XR status (no name annotation: merged into the XR), its connection details and the resources it asks for', () => {
    expect(docs().slice(-3)).toEqual([
      { apiVersion: 'streambus.io/v1alpha1', kind: 'XStreamBusCluster', status: { phase: 'Running', endpoints: ['x-0.x-headless.x.svc:9092'] } },
      { apiVersion: META_API_VERSION, kind: 'CompositeConnectionDetails', data: { endpoint: 'x' } },
      { apiVersion: META_API_VERSION, kind: 'ExtraResources', requirements: { ca: { apiVersion: 'v1', kind: 'Secret', matchName: 'ca', namespace: 'x' } } },
    ]);
    expect(t).toContain('endpoint: {{ print "http://" $claim "." $ns ".svc:8081" | b64enc }}\n');
  });

  it('is given as an inline GoTemplate', () => {
    expect(goTemplatingInput('T')).toEqual({ apiVersion: 'gotemplating.fn.crossplane.io/v1beta1', kind: 'GoTemplate', source: 'Inline', inline: { template: 'T' } });
  });
});
