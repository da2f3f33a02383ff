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
 *  - when it has an extended key usage, that includes clientAuth (or anyExtendedKeyUsage).
 *
 * A refused client's connection is destroyed; it never reaches RunFunction or the health service. Only leaf
 * certificates signed directly by a CA in ca.crt are accepted (Crossplane signs its client certificate with its root
 * CA directly); an intermediate CA must be in ca.crt itself.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** Every certificate of a PEM bundle (ca.crt may hold several CAs). */
export function parseBundle(pem: Buffer | string): X509Certificate[] {
  const text = pem.toString();
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function validAt(c: X509Certificate, now: Date): boolean {
  return new Date(c.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(c.validTo).getTime();
}

/** Why `cert` must be refused as a client certificate, or undefined when it is accepted. */
export function clientCertificateProblem(cert: X509Certificate | undefined, cas: readonly X509Certificate[], now: Date): string | undefined {
  if (!cert) return 'no client certificate';
  if (cert.ca) return 'a CA certificate is not a client certificate';
  if (!validAt(cert, now)) return `the client certificate is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`;
  const issuer = cas.find((ca) => ca.ca && cert.verify(ca.publicKey));
  if (!issuer) return 'the client certificate is not signed by a CA in ca.crt';
  if (!validAt(issuer, now)) return `the CA that signed the client certificate is not valid now (valid to ${issuer.validTo})`;
  const eku = cert.keyUsage; // Node: the extended key usage OIDs, undefined when the certificate has none
  if (eku && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) return 'the client certificate is not for client authentication (extended key usage)';
  return undefined;
}

/** Checks the peer certificate of a finished handshake; destroys the socket and returns the reason when refused. */
export function verifyPeer(socket: TLSSocket, cas: readonly X509Certificate[], now = new Date()): string | undefined {
  let cert: X509Certificate | undefined;
  try {
    cert = socket.getPeerX509Certificate();
  } catch {
    cert = undefined;
  }
  const problem = clientCertificateProblem(cert, cas, now);
  if (problem) socket.destroy();
  return problem;
}
