/**
 * The start-up proof that client certificates are verified, run on the real listener before the server reports
 * SERVING: two TLS clients connect to the bound port, one with no certificate and one with a certificate from a CA
 * that is nowhere (PROBE_IDENTITY), and each sends the HTTP/2 connection preface. Verification is active only when the
 * server closes both connections without answering a single byte. Anything else (an HTTP/2 SETTINGS frame back, a
 * connection that stays open, a connection that cannot be made) is a failure, and main.ts exits non-zero: whatever
 * changes (a dependency, this code, a refactor), the server never serves mutual TLS it has not seen refuse strangers.
 */
import { connect, type TLSSocket } from 'node:tls';

/**
 * A client certificate and key whose CA's private key was discarded when it was made (openssl, EC P-256, valid to
 * 2126; CN "function-streambus start-up probe (must be refused)"). It can be trusted by no ca.crt anyone can sign
 * for, so a server that accepts it does not verify client certificates. It is public on purpose: it grants nothing.
 */
export const PROBE_IDENTITY = {
  cert: `-----BEGIN CERTIFICATE-----
MIIB8zCCAZmgAwIBAgIULC1OlhoDWoROJQbJwas9xMo4+EcwCgYIKoZIzj0EAwIw
PzE9MDsGA1UEAww0ZnVuY3Rpb24tc3RyZWFtYnVzIHN0YXJ0LXVwIHByb2JlIENB
IChrZXkgZGlzY2FyZGVkKTAgFw0yNjEyMDQxOTIwMjNaGA8yMTI2MTExMDE5MjAy
M1owPjE8MDoGA1UEAwwzZnVuY3Rpb24tc3RyZWFtYnVzIHN0YXJ0LXVwIHByb2Jl
IChtdXN0IGJlIHJlZnVzZWQpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWtzM
Rr7LZXpnqOC0tJV7xjxX8NOI5yTvdhSCqH2uOb5awhvTizRgaAOCHijbDpME3mhd
uf6IMEbbkrUVyqKuFqNyMHAwCQYDVR0TBAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYD
VR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFMV6sJ5V+q7RZwr1IQ4scCg65B5m
MB8GA1UdIwQYMBaAFI/QT6/VF/K+tU04NAeKUJu+uIZJMAoGCCqGSM49BAMCA0gA
MEUCIQCU0HVK+11erXJTsMX6qLr++/JKd+ePumSTku68aOimSwIgIt8YHHzVrmSc
UK+aHvqQAvWooFUJ+jTaxOx/TOKZBCA=
-----END CERTIFICATE-----
`,
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgz3KvAQYb+Skine2w
XjRNl4Zoskw0hmfPgg7+Q5N5etKhRANCAARa3MxGvstlemeo4LS0lXvGPFfw04jn
JO92FIKofa45vlrCG9OLNGBoA4IeKNsOkwTeaF25/ogwRtuStRXKoq4W
-----END PRIVATE KEY-----
`,
};

/** The HTTP/2 client connection preface and an empty SETTINGS frame: what a gRPC client sends first. */
const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** The address a probe on this machine reaches a listener bound to `host` by. */
export function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[|\]$/g, '');
}

/** Resolves with undefined when the server refused the connection, or with what went wrong. */
function probeOnce(host: string, port: number, identity: { cert: string; key: string } | undefined, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let socket: TLSSocket | undefined;
    const finish = (result: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(`the server neither answered nor closed the connection within ${timeoutMs} ms`), timeoutMs);
    let handshaken = false;
    socket = connect({
      host,
      port,
      ALPNProtocols: ['h2'],
      // The probe tests the server's check of the client; who the server is does not matter here.
      rejectUnauthorized: false,
      ...(identity ?? {}),
    });
    socket.on('secureConnect', () => {
      handshaken = true;
      socket!.write(H2_PREFACE);
    });
    socket.on('data', (d: Buffer) => finish(`the server answered HTTP/2 (${d.length} bytes) to a client it must refuse`));
    // Refused: the server closes the connection, before or right after the handshake (TLS 1.3 clients finish their
    // side before the server has seen their certificate). A connection never made is not a proof of anything.
    socket.on('error', (err: Error & { code?: string }) =>
      finish(handshaken || err.code === 'ECONNRESET' || /alert|handshake|socket hang up/i.test(err.message) ? undefined : `cannot connect: ${err.message}`),
    );
    socket.on('close', () => finish(undefined));
  });
}

/**
 * Connects to the listener twice (no client certificate; PROBE_IDENTITY) and returns the problems found: an empty
 * list means both were refused.
 */
export async function proveClientVerification(host: string, port: number, timeoutMs = 5_000): Promise<string[]> {
  const h = probeHost(host);
  const problems: string[] = [];
  const none = await probeOnce(h, port, undefined, timeoutMs);
  if (none) problems.push(`a client with no certificate: ${none}`);
  const foreign = await probeOnce(h, port, PROBE_IDENTITY, timeoutMs);
  if (foreign) problems.push(`a client with a certificate from an unknown CA: ${foreign}`);
  return problems;
}
