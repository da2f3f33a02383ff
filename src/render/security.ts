/**
 * Security: TLS, authentication, SASL and authorization.
 *
 * Secrets are mounted read-only into the broker pods and referred to by file path in broker.yaml, never
 * inlined. The keys follow the broker's own example configuration (config/broker.yaml: security.tls.cert_file,
 * key_file, ca_file; security.sasl.*; security.acl.*). StreamBus v1.0.1 reads none of them (see
 * enforcement.ts): the function says so in a WARNING and a condition, and protects what Kubernetes can protect
 * with NetworkPolicies (networkpolicy.ts).
 */
import type { StreamBusClusterSpec } from '../api/schema.js';
import { CONFIG_DIR } from './model.js';

export const TLS_DIR = `${CONFIG_DIR}/tls`;
export const CA_DIR = `${CONFIG_DIR}/ca`;
export const JWT_DIR = `${CONFIG_DIR}/jwt`;
export const SASL_DIR = `${CONFIG_DIR}/sasl`;

type Obj = Record<string, unknown>;

export interface SecretMount {
  volume: Obj;
  mount: Obj;
}

/** The cert Secret: `certSecretName`, or the operator API's older `secretName`. */
export function tlsSecretName(spec: StreamBusClusterSpec): string | undefined {
  const tls = spec.security?.tls;
  return tls?.certSecretName ?? tls?.secretName;
}

export function tlsEnabled(spec: StreamBusClusterSpec): boolean {
  return !!spec.security?.tls?.enabled;
}

function secretMount(volume: string, secretName: string, path: string, items?: { key: string; path: string }[]): SecretMount {
  return {
    volume: { name: volume, secret: { secretName, defaultMode: 0o440, ...(items ? { items } : {}) } },
    mount: { name: volume, mountPath: path, readOnly: true },
  };
}

/** Secret volumes and mounts of the broker container, in a stable order. */
export function securityMounts(spec: StreamBusClusterSpec): SecretMount[] {
  const out: SecretMount[] = [];
  const sec = spec.security;
  const cert = tlsSecretName(spec);
  if (tlsEnabled(spec) && cert) out.push(secretMount('tls', cert, TLS_DIR));
  if (tlsEnabled(spec) && sec?.tls?.caSecretName) out.push(secretMount('tls-ca', sec.tls.caSecretName, CA_DIR));
  const auth = sec?.authentication;
  if (auth?.enabled && auth.jwtSecretName) out.push(secretMount('jwt', auth.jwtSecretName, JWT_DIR));
  if (auth?.enabled && auth.sasl?.secretName) out.push(secretMount('sasl', auth.sasl.secretName, SASL_DIR));
  return out;
}

/** The `security:` section of broker.yaml, or undefined when nothing is asked for. */
export function securityConfig(spec: StreamBusClusterSpec): Obj | undefined {
  const sec = spec.security;
  if (!sec) return undefined;
  const out: Obj = {};
  if (sec.tls?.enabled) {
    const caFile = sec.tls.caSecretName ? `${CA_DIR}/ca.crt` : `${TLS_DIR}/ca.crt`;
    out.tls = {
      enabled: true,
      cert_file: `${TLS_DIR}/tls.crt`,
      key_file: `${TLS_DIR}/tls.key`,
      ca_file: caFile,
      client_auth: sec.tls.clientAuthRequired ? 'require_and_verify' : 'none',
    };
  }
  const auth = sec.authentication;
  if (auth?.enabled) {
    const methods = auth.allowedMethods ?? (auth.method ? [auth.method] : []);
    out.authentication = {
      enabled: true,
      ...(auth.method ? { method: auth.method } : {}),
      allowed_methods: methods,
      ...(auth.jwtSecretName ? { jwt: { secret_file: `${JWT_DIR}/secret` } } : {}),
    };
    if (auth.sasl || auth.method === 'sasl' || methods.includes('sasl')) {
      out.sasl = {
        enabled: true,
        mechanism: auth.sasl?.mechanism ?? 'SCRAM-SHA-256',
        ...(auth.sasl?.secretName ? { credentials_dir: SASL_DIR } : {}),
      };
    }
  }
  if (sec.authorization?.enabled) {
    out.acl = { enabled: true, default_policy: sec.authorization.defaultPolicy };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
