import type { X509Certificate } from 'node:crypto';
import { DER_TAG, derInteger, derString, readDerElements, readOneDerElement } from './der-reader.js';

/**
 * The key id of a signed message: Celery's `Certificate.get_id()`, the certificate's issuer
 * attribute values joined by spaces, a space, and its serial number in decimal (for example
 * `US CA Example Signing CA 4096`). Issuer and serial identify a certificate uniquely, so rotating
 * a key is issuing a new certificate and trusting it beside the old one until the old one retires.
 */
export function celerySignerId(certificate: X509Certificate): string {
  const outer = readOneDerElement(certificate.raw, 'certificate');
  const [tbs] = readDerElements(outer.content);
  if (tbs?.tag !== DER_TAG.SEQUENCE) throw new Error('certificate: no TBSCertificate');
  const fields = readDerElements(tbs.content);
  // TBSCertificate: [0] version (optional), serialNumber, signature algorithm, issuer, ...
  const start = fields[0]?.tag === DER_TAG.CONTEXT_0 ? 1 : 0;
  const serial = fields[start];
  const issuer = fields[start + 2];
  if (serial?.tag !== DER_TAG.INTEGER || issuer?.tag !== DER_TAG.SEQUENCE) {
    throw new Error('certificate: serial number or issuer missing');
  }
  return `${issuerValues(issuer.content).join(' ')} ${derInteger(serial.content).toString()}`;
}

/** The values of every attribute of every RDN, in certificate order (Python iterates a Name so). */
function issuerValues(name: Buffer): string[] {
  const values: string[] = [];
  for (const rdn of readDerElements(name)) {
    if (rdn.tag !== DER_TAG.SET) throw new Error('certificate: issuer RDN is not a SET');
    for (const attribute of readDerElements(rdn.content)) {
      const [type, value] = readDerElements(attribute.content);
      if (type?.tag !== DER_TAG.OBJECT_IDENTIFIER || value === undefined) {
        throw new Error('certificate: malformed issuer attribute');
      }
      values.push(derString(value));
    }
  }
  return values;
}
