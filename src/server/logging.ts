/**
 * Structured JSON logs (pino). One line per RunFunction call with who it was for and how it ended:
 *
 *   {"level":30,"msg":"RunFunction","tag":"…","xr":"sb-x7k2p","claimNamespace":"team-a","claimName":"sb",
 *    "result":"ok","durationMs":1.2,"requestBytes":5120,"resources":4}
 *
 * Only identifiers are logged, never request bodies, specs, inputs, desired state or connection details (the
 * XR's connection details carry endpoints today and may carry credentials tomorrow). A FATAL result's message is
 * logged: it names the refused field, and quotes at most a short, truncated value.
 */
import { obj, type Obj } from '../k8s/json.js';
import { pino, type Logger } from 'pino';
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { CLAIM_NAMESPACE_LABEL, CLAIM_NAME_LABEL } from '../render/identity.js';


/** Longest identifier logged (a Kubernetes name is at most 253 characters). */
const MAX_FIELD = 253;
const ident = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? (v.length > MAX_FIELD ? `${v.slice(0, MAX_FIELD)}…` : v) : undefined);

export function createLogger(opts: { debug?: boolean } = {}): Logger {
  return pino({ level: opts.debug ? 'debug' : 'info', base: { fn: 'function-streambus' } });
}

export interface CallIdentity {
  tag?: string;
  xr?: string;
  claimName?: string;
  claimNamespace?: string;
}

/** The identifiers of a request, read defensively (any of them may be missing or of the wrong type). */
export function callIdentity(req: RunFunctionRequest | undefined): CallIdentity {
  const xr = obj(req?.observed?.composite?.resource);
  const meta = obj(xr?.metadata);
  const labels = obj(meta?.labels);
  const claimRef = obj(obj(xr?.spec)?.claimRef);
  const out: CallIdentity = {};
  const tag = ident(req?.meta?.tag);
  if (tag) out.tag = tag;
  const name = ident(meta?.name);
  if (name) out.xr = name;
  const claimName = ident(labels?.[CLAIM_NAME_LABEL]) ?? ident(claimRef?.name);
  if (claimName) out.claimName = claimName;
  const claimNamespace = ident(labels?.[CLAIM_NAMESPACE_LABEL]) ?? ident(claimRef?.namespace);
  if (claimNamespace) out.claimNamespace = claimNamespace;
  return out;
}

/** Truncates a result message for the log. */
export function logMessage(m: string, n = 512): string {
  return m.length > n ? `${m.slice(0, n)}…` : m;
}
