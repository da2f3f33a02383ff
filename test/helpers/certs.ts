/**
 * A throw-away PKI for mutual-TLS tests, made with the openssl CLI (node:crypto cannot sign X.509 certificates):
 * a CA, a server certificate for 127.0.0.1/localhost, a client certificate from the same CA, and a second CA with
 * its own client certificate (which the server must refuse). EC P-256 keys, valid for one day.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_CI } from './tools.js';

export interface Pki {
  /** Directory for --tls-server-certs-dir: tls.crt, tls.key, ca.crt. */
  serverDir: string;
  ca: Buffer;
  client: { key: Buffer; cert: Buffer };
  /** A client certificate signed by another CA. */
  foreignClient: { key: Buffer; cert: Buffer };
  /** A self-signed client certificate with the trusted CA's subject name. */
  impostorClient: { key: Buffer; cert: Buffer };
  /**
   * Crossplane's way (v2.2.1, Go crypto/x509): a second trusted CA (in serverDir/ca.crt too) and a client certificate
   * with the SAME subject DN as that CA and no subject key identifier. OpenSSL's chain check takes it for a
   * self-signed certificate (error 18, DEPTH_ZERO_SELF_SIGNED_CERT); it is a valid client certificate.
   */
  crossplaneClient: { key: Buffer; cert: Buffer };
  /** Signed by the trusted CA, expired in 2020. */
  expiredClient: { key: Buffer; cert: Buffer };
  /** Signed by the trusted CA, but for servers only (extended key usage serverAuth). */
  serverOnlyClient: { key: Buffer; cert: Buffer };
  /**
   * Certificates that each fail exactly ONE check of src/server/clientcert.ts (test/unit/server.test.ts proves it):
   * signed by the trusted CA unless said otherwise, CA:FALSE, valid now, extended key usage clientAuth, key usage
   * digitalSignature.
   */
  oneFault: {
    /** A CA certificate (CA:TRUE) signed by the trusted CA. */
    caCert: { key: Buffer; cert: Buffer };
    /** Self-signed with the trusted CA's subject name and CA:FALSE: only its signature gives it away. */
    signature: { key: Buffer; cert: Buffer };
    /** Key usage keyEncipherment only (no digitalSignature). */
    keyUsage: { key: Buffer; cert: Buffer };
    /** A critical extension no one understands (OID 1.3.6.1.4.1.99999.1). */
    criticalExtension: { key: Buffer; cert: Buffer };
    /** Valid for 30 days, signed by `shortCa`, a CA in ca.crt valid for 1 day: refused at now + 2 days for the CA only. */
    caExpired: { key: Buffer; cert: Buffer };
  };
  /** The working directory (ca.crt, client.crt, client.key, foreign.crt, ... as files). */
  dir: string;
  /** Issues another server certificate from the trusted CA (e.g. a rotation), with these subjectAltNames. */
  issueServer: (name: string, sans: string[]) => { key: Buffer; cert: Buffer };
}

/** The openssl binary, or undefined (and a loud skip message) when absent; throws under CI. */
export function requireOpenssl(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return 'openssl';
  } catch {
    const msg = 'the openssl CLI is not installed: the mutual-TLS tests need it to make certificates';
    if (IN_CI) throw new Error(`CI=true and ${msg}`);
    process.stderr.write(`\n!!!!!!!!!! SKIPPED: ${msg} !!!!!!!!!!\n\n`);
    return undefined;
  }
}

/** `serverSans`: the server certificate's subjectAltNames (default DNS:localhost, IP:127.0.0.1). */
export function makePki(serverSans: string[] = ['DNS:localhost', 'IP:127.0.0.1']): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'sb-pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = (name: string, subject: string) =>
    ssl('req', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, cn: string, caName: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n`);
    ssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  };
  ca('ca', '/CN=function-streambus test CA');
  ca('other-ca', '/CN=some other CA');
  ca('xp-ca', '/O=Crossplane/CN=Crossplane');
  leaf('server', 'function-streambus', 'ca', `subjectAltName=${serverSans.join(',')}\nextendedKeyUsage=serverAuth`);
  leaf('client', 'crossplane', 'ca', 'extendedKeyUsage=clientAuth');
  leaf('foreign', 'crossplane', 'other-ca', 'extendedKeyUsage=clientAuth');
  leaf('server-only', 'crossplane', 'ca', 'extendedKeyUsage=serverAuth');
  // Crossplane's client certificate: its CA's subject, key usages of Go's template, no subject key identifier.
  writeFileSync(join(dir, 'xp.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
    'extendedKeyUsage=clientAuth,serverAuth\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=keyid\n');
  ssl('req', ...key, '-keyout', 'xp.key', '-out', 'xp.csr', '-subj', '/O=Crossplane/CN=Crossplane');
  ssl('x509', '-req', '-in', 'xp.csr', '-CA', 'xp-ca.crt', '-CAkey', 'xp-ca.key', '-CAcreateserial', '-out', 'xp.crt', '-days', '1', '-extfile', 'xp.ext');
  // Expired: `openssl ca` is the only openssl 3.0 command that sets a start date in the past.
  mkdirSync(join(dir, 'db'));
  writeFileSync(join(dir, 'db', 'index.txt'), '');
  writeFileSync(join(dir, 'db', 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca=x\n[x]\ndatabase=db/index.txt\nserial=db/serial\nnew_certs_dir=db\n' +
    'default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n[ext]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  ssl('req', ...key, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=crossplane');
  ssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.crt',
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'ext', '-notext');
  // Self-signed, claiming the trusted CA's name (openssl's default extensions make it CA:TRUE, so it is refused as a CA
  // certificate first; oneFault.signature is the impostor refused for its signature alone).
  ssl('req', '-x509', ...key, '-keyout', 'impostor.key', '-out', 'impostor.crt', '-days', '1', '-subj', '/CN=function-streambus test CA');
  const good = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
  const oneFault = (name: string, caName: string, ext: string, days = '1') => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=crossplane');
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', days, '-extfile', `${name}.ext`);
  };
  oneFault('f-ca', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=clientAuth\n');
  oneFault('f-ku', 'ca', `${good}keyUsage=critical,keyEncipherment\n`);
  oneFault('f-crit', 'ca', `${good}keyUsage=critical,digitalSignature\n1.3.6.1.4.1.99999.1=critical,ASN1:UTF8String:unknown\n`);
  ca('short-ca', '/CN=short-lived CA');
  oneFault('f-caexp', 'short-ca', `${good}keyUsage=critical,digitalSignature\n`, '30');
  writeFileSync(join(dir, 'f-sig.cnf'), '[req]\ndistinguished_name=dn\nx509_extensions=v3\nprompt=no\n[dn]\nCN=function-streambus test CA\n' +
    '[v3]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  ssl('req', '-x509', ...key, '-keyout', 'f-sig.key', '-out', 'f-sig.crt', '-days', '1', '-config', 'f-sig.cnf');

  const read = (f: string) => readFileSync(join(dir, f));
  const serverDir = join(dir, 'server');
  mkdirSync(serverDir);
  writeFileSync(join(serverDir, 'tls.crt'), read('server.crt'));
  writeFileSync(join(serverDir, 'tls.key'), read('server.key'));
  writeFileSync(join(serverDir, 'ca.crt'), Buffer.concat([read('ca.crt'), read('xp-ca.crt'), read('short-ca.crt')]));
  return {
    serverDir,
    ca: read('ca.crt'),
    client: { key: read('client.key'), cert: read('client.crt') },
    foreignClient: { key: read('foreign.key'), cert: read('foreign.crt') },
    impostorClient: { key: read('impostor.key'), cert: read('impostor.crt') },
    crossplaneClient: { key: read('xp.key'), cert: read('xp.crt') },
    expiredClient: { key: read('expired.key'), cert: read('expired.crt') },
    serverOnlyClient: { key: read('server-only.key'), cert: read('server-only.crt') },
    oneFault: {
      caCert: { key: read('f-ca.key'), cert: read('f-ca.crt') },
      signature: { key: read('f-sig.key'), cert: read('f-sig.crt') },
      keyUsage: { key: read('f-ku.key'), cert: read('f-ku.crt') },
      criticalExtension: { key: read('f-crit.key'), cert: read('f-crit.crt') },
      caExpired: { key: read('f-caexp.key'), cert: read('f-caexp.crt') },
    },
    dir,
    issueServer: (name, sans) => {
      leaf(name, 'function-streambus', 'ca', `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth`);
      return { key: read(`${name}.key`), cert: read(`${name}.crt`) };
    },
  };
}
