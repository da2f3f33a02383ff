/**
 * The mutual-TLS listener. It owns the TCP listener and the TLS handshake (node:net and node:tls), checks each
 * client's certificate itself (clientcert.ts) and hands only the accepted connections to grpc-js through its public
 * `Server.createConnectionInjector` (with insecure credentials: the connection it is given is already TLS). A
 * connection this module did not accept never reaches grpc-js, so RunFunction and the health service cannot be served
 * to an unverified client by any path: there is no grpc-js internal to hook, and no hook that could silently vanish.
 *
 * Bounds on clients that have not proven who they are:
 *  - a TLS handshake must finish within `handshakeTimeoutMs` (Node's tls option; its default is 120 s);
 *  - at most `maxHandshakes` connections may be in the handshake at once; beyond that a new connection is closed at
 *    once (each pending one costs a socket and OpenSSL state, about 16 KiB).
 * Every refusal is counted (onRefused); the caller rate-limits its logs (RefusalLog).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { clientCertificateProblem, peerCertificate } from './clientcert.js';

/** A TLS handshake not finished this long after the TCP connection is dropped. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Connections in the TLS handshake at once; more are closed at once. */
export const DEFAULT_MAX_HANDSHAKES = 64;

export interface MutualTlsCredentials {
  key: Buffer;
  cert: Buffer;
  /** ca.crt as read (sent to clients as the acceptable CAs). */
  caPem: Buffer;
  /** The CAs of ca.crt, parsed. */
  cas: X509Certificate[];
}

export interface Peer {
  address?: string;
  port?: number;
}

export interface MutualTlsListenerOptions {
  handshakeTimeoutMs?: number;
  maxHandshakes?: number;
  /** A client refused: its address (read when it connected), and why. */
  onRefused: (peer: Peer, problem: string) => void;
  /** A client accepted: its address and its certificate (undefined only if the check let a client without one in). */
  onAccepted?: (peer: Peer, cert: X509Certificate | undefined) => void;
}

export interface MutualTlsListener {
  port: number;
  /** Connections in the TLS handshake now. */
  handshaking(): number;
  /** Stops accepting connections (accepted ones are grpc-js's to close: tryShutdown/forceShutdown). */
  close(): Promise<void>;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new Error(`address ${address} has no port`);
  let host = address.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`address ${address}: bad port`);
  return { host, port };
}

/** Listens on `address` (host:port, already normalised) and serves `server`'s services to verified clients only. */
export function listenMutualTls(
  server: grpc.Server,
  address: string,
  creds: MutualTlsCredentials,
  opts: MutualTlsListenerOptions,
): Promise<MutualTlsListener> {
  const handshakeTimeout = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const maxHandshakes = opts.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES;
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const tls = createTlsServer({
    key: creds.key,
    cert: creds.cert,
    ca: creds.caPem,
    // Ask for a certificate, and decide here: OpenSSL's own chain check refuses Crossplane's (clientcert.ts).
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.2',
    handshakeTimeout,
  });
  // The peer of each connection in the handshake, recorded when it connected (a destroyed socket no longer has one).
  const pending = new Map<Socket, Peer>();
  const peerOf = (tlsSocket: TLSSocket): Peer => ({ address: tlsSocket.remoteAddress, port: tlsSocket.remotePort });
  const settle = (tlsSocket: TLSSocket): Peer | undefined => {
    // A TLSSocket made by a tls.Server from a raw socket reads its peer from that socket; find the record by it.
    for (const [raw, peer] of pending) {
      if (raw.remoteAddress === tlsSocket.remoteAddress && raw.remotePort === tlsSocket.remotePort) {
        pending.delete(raw);
        return peer;
      }
    }
    return undefined;
  };

  tls.on('secureConnection', (socket: TLSSocket) => {
    const peer = settle(socket) ?? peerOf(socket);
    socket.on('error', () => {
      /* a reset after the handshake: grpc-js sees the close */
    });
    const cert = peerCertificate(socket);
    const problem = socket.alpnProtocol !== 'h2' ? 'the client did not negotiate HTTP/2 (ALPN h2)' : clientCertificateProblem(cert, creds.cas, new Date());
    if (problem) {
      socket.destroy();
      opts.onRefused(peer, problem);
      return;
    }
    opts.onAccepted?.(peer, cert);
    injector.injectConnection(socket);
  });
  tls.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    const peer = settle(socket) ?? peerOf(socket);
    socket.destroy();
    opts.onRefused(peer, err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? `no TLS handshake within ${handshakeTimeout} ms` : `TLS handshake failed: ${err.message}`);
  });

  const net: NetServer = createNetServer((raw: Socket) => {
    const peer: Peer = { address: raw.remoteAddress, port: raw.remotePort };
    raw.on('error', () => {
      /* reset before or during the handshake: tlsClientError or close reports it */
    });
    if (pending.size >= maxHandshakes) {
      raw.destroy();
      opts.onRefused(peer, `${pending.size} connections already in the TLS handshake (at most ${maxHandshakes})`);
      return;
    }
    pending.set(raw, peer);
    raw.once('close', () => pending.delete(raw));
    tls.emit('connection', raw);
  });

  const { host, port } = splitHostPort(address);
  return new Promise((resolve, reject) => {
    net.once('error', (err) => {
      injector.destroy();
      reject(err);
    });
    net.listen(port, host, () => {
      const bound = net.address();
      resolve({
        port: typeof bound === 'object' && bound ? bound.port : port,
        handshaking: () => pending.size,
        close: () =>
          new Promise<void>((done) => {
            net.close(() => done());
            for (const raw of pending.keys()) raw.destroy();
          }),
      });
    });
  });
}

/**
 * Refusal logs, rate-limited: at most `perWindow` lines per `windowMs`; the rest are counted and reported in one line
 * when the next window opens (a client retrying in a loop, or a port scan, must not flood the log).
 */
export class RefusalLog {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;
  constructor(
    private readonly write: (fields: Record<string, unknown>, msg: string) => void,
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  refused(peer: Peer, problem: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) this.write({ suppressed: this.suppressed, windowMs: this.windowMs }, 'refused TLS clients not logged (rate limit)');
      this.windowStart = t;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged < this.perWindow) {
      this.logged++;
      this.write({ remote: peer.address, remotePort: peer.port, problem }, 'refused a TLS client');
    } else {
      this.suppressed++;
    }
  }
}
