/**
 * Mutual TLS that accepts Crossplane's own certificates.
 *
 * Crossplane (v2.2.1, and its Go `crypto/x509` generator in general) issues its CA and its client certificate with the
 * same subject DN, and the client certificate carries no subject key identifier. OpenSSL's chain builder (Node's TLS)
 * then takes the client certificate for a self-signed one (`DEPTH_ZERO_SELF_SIGNED_CERT`) and refuses every call from
 * a real Crossplane; Go's crypto/tls, which Crossplane and the Go SDK use, accepts it. So the server asks for a client
 * certificate without letting OpenSSL decide (`requestCert: true, rejectUnauthorized: false`) and decides here, on
 * the certificate itself, right after the handshake and before a single HTTP/2 frame is read:
 *
 *  - a certificate must be presented;
 *  - it is not a CA certificate;
 *  - it is valid now (notBefore ≤ now ≤ notAfter);
 *  - its signature verifies with the public key of a CA in ca.crt (the signature, not the issuer's name: a
 *    self-signed certificate bearing the CA's name is refused), and that CA is itself valid now;
 *  - when it has an extended key usage, that includes clientAuth (or anyExtendedKeyUsage);
 *  - when it has a key usage, that includes digitalSignature (the client proves its key by signing the handshake);
 *  - it has no critical extension this check does not understand (RFC 5280 §4.2: such a certificate must be refused;
 *    OpenSSL and Go refuse it too).
 *
 * The listener (tlslistener.ts) runs this check on every TLS connection and hands only the accepted ones to grpc-js,
 * so a refused client never reaches RunFunction or the health service. Only leaf
 * certificates signed directly by a CA in ca.crt are accepted (Crossplane signs its client certificate with its root
 * CA directly); an intermediate CA must be in ca.crt itself.
 */
import { X509Certificate } from 'node:crypto';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
const KEY_USAGE = '2.5.29.15';

/**
 * Extensions whose meaning this check applies or which carry nothing to enforce on a leaf: subject and authority key
 * identifiers, key usage, subject alternative name, basic constraints, extended key usage. Any other extension
 * marked critical makes the certificate refused.
 */
export const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set(['2.5.29.14', '2.5.29.15', '2.5.29.17', '2.5.29.19', '2.5.29.35', '2.5.29.37']);

/** One DER element: its tag byte, and where its contents start and end in the buffer. */
interface Der {
  tag: number;
  start: number;
  end: number;
}

/** Reads the DER element at `at` (low tag numbers only, as every X.509 field uses); throws on a malformed one. */
function derAt(b: Uint8Array, at: number, limit = b.length): Der {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = b[at]!;
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

/** The elements inside a constructed DER element. */
function derChildren(b: Uint8Array, parent: Der): Der[] {
  const out: Der[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const d = derAt(b, at, parent.end);
    out.push(d);
    at = d.end;
  }
  return out;
}

function oidText(b: Uint8Array, d: Der): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = d.start; i < d.end; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (!(b[i]! & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** The extension's value (the contents of extnValue's OCTET STRING). */
  value: Uint8Array;
}

/**
 * The extensions of a certificate, read from its DER (node:crypto exposes the extended key usage but neither the key
 * usage bits nor which extensions are critical). Throws when the DER is malformed.
 */
export function certificateExtensions(cert: X509Certificate): CertificateExtension[] {
  const b = new Uint8Array(cert.raw);
  const tbs = derChildren(b, derAt(b, 0))[0];
  if (!tbs) throw new Error('no tbsCertificate');
  const exts = derChildren(b, tbs).find((d) => d.tag === 0xa3); // [3] EXPLICIT Extensions
  if (!exts) return [];
  const list = derChildren(b, exts)[0];
  if (!list) return [];
  return derChildren(b, list).map((ext) => {
    const [id, second, third] = derChildren(b, ext);
    const critical = second?.tag === 0x01 && b[second.start] !== 0;
    const value = second?.tag === 0x04 ? second : third;
    if (!id || id.tag !== 0x06 || !value || value.tag !== 0x04) throw new Error('malformed extension');
    return { oid: oidText(b, id), critical, value: b.subarray(value.start, value.end) };
  });
}

/** Whether a key usage extension's value (a BIT STRING) sets digitalSignature (bit 0). */
function hasDigitalSignature(value: Uint8Array): boolean {
  const bits = derAt(value, 0);
  if (bits.tag !== 0x03 || bits.end - bits.start < 2) return false;
  return (value[bits.start + 1]! & 0x80) !== 0;
}

/** Every certificate of a PEM bundle (ca.crt may hold several CAs). */
export function parseBundle(pem: Buffer | string): X509Certificate[] {
  const text = pem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function validAt(c: X509Certificate, now: Date): boolean {
  return new Date(c.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(c.validTo).getTime();
}

/**
 * Every reason `cert` must be refused as a client certificate, in the order they are checked (empty: accepted). All
 * checks run, so a test can show that a certificate fails exactly one of them.
 */
export function clientCertificateProblems(cert: X509Certificate | undefined, cas: readonly X509Certificate[], now: Date): string[] {
  if (!cert) return ['no client certificate'];
  const problems: string[] = [];
  if (cert.ca) problems.push('a CA certificate is not a client certificate');
  if (!validAt(cert, now)) problems.push(`the client certificate is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`);
  const issuer = cas.find((ca) => ca.ca && cert.verify(ca.publicKey));
  if (!issuer) problems.push('the client certificate is not signed by a CA in ca.crt');
  else if (!validAt(issuer, now)) problems.push(`the CA that signed the client certificate is not valid now (valid to ${issuer.validTo})`);
  const eku = cert.keyUsage; // Node: the extended key usage OIDs, undefined when the certificate has none
  if (eku && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) problems.push('the client certificate is not for client authentication (extended key usage)');
  let exts: CertificateExtension[];
  try {
    exts = certificateExtensions(cert);
  } catch (err) {
    problems.push(`the client certificate's extensions cannot be read (${(err as Error).message})`);
    return problems;
  }
  const unknown = exts.find((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.oid));
  if (unknown) problems.push(`the client certificate has a critical extension this server does not understand (${unknown.oid})`);
  const ku = exts.find((e) => e.oid === KEY_USAGE);
  if (ku) {
    let ok = false;
    try {
      ok = hasDigitalSignature(ku.value);
    } catch {
      ok = false;
    }
    if (!ok) problems.push('the client certificate\'s key usage does not include digitalSignature');
  }
  return problems;
}

/** Why `cert` must be refused as a client certificate (the first reason), or undefined when it is accepted. */
export function clientCertificateProblem(cert: X509Certificate | undefined, cas: readonly X509Certificate[], now: Date): string | undefined {
  return clientCertificateProblems(cert, cas, now)[0];
}

/** The peer certificate of a finished handshake, or undefined when the client sent none. */
export function peerCertificate(socket: { getPeerX509Certificate(): X509Certificate | undefined }): X509Certificate | undefined {
  try {
    return socket.getPeerX509Certificate();
  } catch {
    return undefined;
  }
}
