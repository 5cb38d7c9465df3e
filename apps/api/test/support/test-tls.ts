/**
 * A throwaway certificate authority and a server certificate it signed, for the HTTPS / HTTP/2
 * doubles of push services (FCM, APNs, Web Push). The client under test trusts `ca` through its
 * own option (an `https.Agent` with `ca`, `NODE_EXTRA_CA_CERTS` for a child process); certificate
 * checks stay on everywhere.
 *
 * Made with the `openssl` CLI because `node:crypto` can generate keys but not issue X.509
 * certificates. Everything is written to a temp dir that is removed before this resolves.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestTls {
  /** PEM of the CA certificate: what a client adds to its trusted roots. */
  ca: string;
  /** PEM (PKCS#8, P-256) private key of the server certificate. */
  key: string;
  /** PEM of the server certificate, valid for DNS:localhost and IP:127.0.0.1 and ::1. */
  cert: string;
}

/** Validity of both certificates, in days: a test run is far shorter; a day absorbs clock skew. */
const VALID_DAYS = '2';

/** Extensions of the server certificate: a leaf (not a CA) for TLS servers on this machine. */
const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid, issuer',
  '',
].join('\n');

let made: Promise<TestTls> | undefined;

/**
 * The test CA and server certificate, made once per process (a Vitest worker: one per test file)
 * and shared by every double in it. Rejects with the missing tool named when `openssl` is absent.
 */
export function makeTestTls(): Promise<TestTls> {
  made ??= issue();
  // A failed attempt is not cached, so a later caller sees the same clear error again.
  made.catch(() => {
    made = undefined;
  });
  return made;
}

async function issue(): Promise<TestTls> {
  const dir = await mkdtemp(join(tmpdir(), 'anmei-test-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = async (args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir });
    } catch (error) {
      const e = error as { code?: unknown; stderr?: unknown };
      if (e.code === 'ENOENT') {
        throw new Error('the test TLS helper needs the openssl CLI: install it (apt-get install -y openssl)');
      }
      throw new Error(`openssl ${args[0]} failed while making the test CA: ${String(e.stderr ?? error)}`);
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      VALID_DAYS,
      '-subj',
      '/CN=AnmeiSmart test CA (throwaway)',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl(['req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=localhost']);
    await writeFile(at('server.ext'), SERVER_EXTENSIONS);
    await openssl([
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      // A random serial: no serial file, and two runs never issue the same (issuer, serial).
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      VALID_DAYS,
      '-extfile',
      at('server.ext'),
      '-out',
      at('server.crt'),
    ]);
    const [ca, key, cert] = await Promise.all(
      ['ca.crt', 'server.key', 'server.crt'].map((name) => readFile(at(name), 'utf8')),
    );
    return { ca: ca!, key: key!, cert: cert! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
