/**
 * The few DER reads that Celery's signer id needs (a certificate's serial number and issuer
 * names). Node's X509Certificate prints the issuer as escaped text, whose values cannot be told
 * apart from their separators; reading the DER gives the exact strings Python's `cryptography` sees.
 */

/** One DER element: its tag byte and the bytes of its content. */
export interface DerElement {
  readonly tag: number;
  readonly content: Buffer;
}

/** DER tags used by X.509 names and serials. */
export const DER_TAG = {
  INTEGER: 0x02,
  SEQUENCE: 0x30,
  SET: 0x31,
  OBJECT_IDENTIFIER: 0x06,
  CONTEXT_0: 0xa0,
} as const;

/** Reads the elements of a DER content one after the other; throws on a truncated or long-form tag. */
export function readDerElements(bytes: Buffer): DerElement[] {
  const elements: DerElement[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = bytes[offset]!;
    if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tags are not used in certificates');
    let length = bytes[offset + 1];
    if (length === undefined) throw new Error('truncated DER element');
    offset += 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      if (octets === 0 || octets > 4) throw new Error('unsupported DER length');
      length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + bytes[offset + i]!;
      offset += octets;
    }
    if (offset + length > bytes.length) throw new Error('truncated DER element');
    elements.push({ tag, content: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  return elements;
}

/** The single element a DER content must hold (a certificate's outer SEQUENCE). */
export function readOneDerElement(bytes: Buffer, what: string): DerElement {
  const [element, ...rest] = readDerElements(bytes);
  if (element === undefined || rest.length > 0) throw new Error(`${what}: expected one DER element`);
  return element;
}

/** A DER INTEGER (two's complement, big-endian) as a bigint. */
export function derInteger(content: Buffer): bigint {
  if (content.length === 0) return 0n;
  let value = 0n;
  for (const byte of content) value = (value << 8n) | BigInt(byte);
  if (content[0]! & 0x80) value -= 1n << BigInt(content.length * 8);
  return value;
}

/**
 * The text of a DirectoryString-like value, decoded as `cryptography` decodes it: UTF-16BE for
 * BMPString, UTF-32BE for UniversalString, UTF-8 for UTF8String, Latin-1 for T61String, ASCII
 * for the printable kinds.
 */
export function derString(element: DerElement): string {
  switch (element.tag) {
    case 0x1e: // BMPString
      return Buffer.from(element.content).swap16().toString('utf16le');
    case 0x1c: {
      // UniversalString
      let text = '';
      for (let i = 0; i + 3 < element.content.length; i += 4) {
        text += String.fromCodePoint(element.content.readUInt32BE(i));
      }
      return text;
    }
    case 0x14: // T61String
      return element.content.toString('latin1');
    default: // UTF8String, PrintableString, IA5String, VisibleString, NumericString
      return element.content.toString('utf8');
  }
}
