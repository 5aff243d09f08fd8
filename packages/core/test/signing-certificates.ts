import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private key and its self-signed certificate, PEM, made by openssl for one test run. */
export interface TestSigningIdentity {
  key: string;
  certificate: string;
}

/**
 * Makes an RSA key and a certificate valid for two days with `openssl req -x509` (so no key is
 * committed). `serial` sets the serial number, which with the issuer is Celery's signer id: two
 * certificates of one issuer with different serials are the old and new key of a rotation.
 */
export function makeSigningIdentity(
  commonName: string,
  serial: number,
  keyType: 'rsa' | 'ec' = 'rsa',
): TestSigningIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-signing-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const newkey =
      keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...newkey,
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        `/C=US/O=Conveyor Tests/CN=${commonName}`,
        '-set_serial',
        String(serial),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { key: readFileSync(keyFile, 'utf8'), certificate: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
