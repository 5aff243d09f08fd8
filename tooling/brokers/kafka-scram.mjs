// Creates (or confirms) a SCRAM user on a running Kafka, for the SASL_SSL listener brokers.sh
// opens. Speaks the Admin protocol itself (DescribeUserScramCredentials, AlterUserScramCredentials,
// KIP-554) over the PLAINTEXT listener, so it needs no Kafka CLI jars and no npm install; kafkajs
// has neither request. Exit 0 with one line when the user has the mechanism, exit 1 with the
// reason on stderr when not. The password is never printed.
//   KAFKA_SCRAM_PASSWORD=… node kafka-scram.mjs 127.0.0.1:9092 USER [SCRAM-SHA-512|SCRAM-SHA-256]

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const TIMEOUT_MS = 10_000;
const ITERATIONS = 8192;
const MECHANISMS = {
  'SCRAM-SHA-256': { id: 1, hash: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { id: 2, hash: 'sha512', bytes: 64 },
};

const [address = '127.0.0.1:9092', user, mechanismName = 'SCRAM-SHA-512'] = process.argv.slice(2);
const password = process.env.KAFKA_SCRAM_PASSWORD;
const mechanism = MECHANISMS[mechanismName];
if (!user || !password || !mechanism) {
  console.error(
    'usage: KAFKA_SCRAM_PASSWORD=… node kafka-scram.mjs HOST:PORT USER [SCRAM-SHA-512|SCRAM-SHA-256]',
  );
  process.exit(2);
}

// ---- flexible-version encoding (compact strings and arrays, tagged fields) --------------------

function uvarint(n) {
  const out = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}
const compactBytes = (b) => Buffer.concat([uvarint(b.length + 1), b]);
const compactString = (s) => compactBytes(Buffer.from(s, 'utf8'));
const int8 = (n) => Buffer.from([n & 0xff]);
function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
const NO_TAGS = Buffer.from([0]);

// Request header v2: api key, version, correlation id, client id (a plain nullable string), tags.
function request(apiKey, correlationId, body) {
  const head = Buffer.alloc(8);
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(0, 2);
  head.writeInt32BE(correlationId, 4);
  const clientId = Buffer.from('conveyor-brokers-scram');
  const idLength = Buffer.alloc(2);
  idLength.writeInt16BE(clientId.length);
  const payload = Buffer.concat([head, idLength, clientId, NO_TAGS, body]);
  return Buffer.concat([int32(payload.length), payload]);
}

function reader(buffer) {
  let o = 0;
  const r = {
    uvarint() {
      let value = 0;
      let shift = 0;
      for (;;) {
        const byte = buffer[o++];
        value |= (byte & 0x7f) << shift;
        if (byte < 0x80) return value >>> 0;
        shift += 7;
      }
    },
    int8: () => buffer.readInt8(o++),
    int16() {
      const v = buffer.readInt16BE(o);
      o += 2;
      return v;
    },
    int32() {
      const v = buffer.readInt32BE(o);
      o += 4;
      return v;
    },
    string() {
      const n = r.uvarint() - 1;
      if (n < 0) return null;
      const v = buffer.toString('utf8', o, o + n);
      o += n;
      return v;
    },
    tags() {
      const count = r.uvarint();
      for (let i = 0; i < count; i++) {
        r.uvarint();
        o += r.uvarint();
      }
    },
  };
  return r;
}

// ---- one connection, requests in turn ----------------------------------------------------------

function open(hostPort) {
  const at = hostPort.lastIndexOf(':');
  const socket = connect({ host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) });
  let buffered = Buffer.alloc(0);
  let waiting = null;
  let failure = null;
  const settle = () => {
    if (!waiting) return;
    if (failure) {
      waiting.reject(failure);
      waiting = null;
      return;
    }
    if (buffered.length < 4) return;
    const size = buffered.readInt32BE(0);
    if (buffered.length < 4 + size) return;
    const frame = buffered.subarray(4, 4 + size);
    buffered = buffered.subarray(4 + size);
    const w = waiting;
    waiting = null;
    w.resolve(frame);
  };
  socket.on('data', (data) => {
    buffered = Buffer.concat([buffered, data]);
    settle();
  });
  socket.on('error', (error) => {
    failure = error;
    settle();
  });
  socket.on('close', () => {
    failure ??= new Error('connection closed by Kafka');
    settle();
  });
  return {
    call(bytes) {
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        socket.write(bytes);
        settle();
      });
    },
    close: () => socket.end(),
  };
}

// Response header v1: correlation id, tags.
function response(frame, correlationId) {
  const r = reader(frame);
  if (r.int32() !== correlationId) throw new Error('Kafka answered with another correlation id');
  r.tags();
  return r;
}

async function describe(kafka) {
  // DescribeUserScramCredentials v0 (API 50): Users = [{ Name }].
  const body = Buffer.concat([uvarint(2), compactString(user), NO_TAGS, NO_TAGS]);
  const r = response(await kafka.call(request(50, 1, body)), 1);
  r.int32(); // throttle
  const error = r.int16();
  const message = r.string();
  if (error !== 0) throw new Error(`DescribeUserScramCredentials failed: error ${error} ${message ?? ''}`);
  const results = r.uvarint() - 1;
  const found = [];
  for (let i = 0; i < results; i++) {
    r.string(); // user
    const code = r.int16();
    r.string();
    const infos = r.uvarint() - 1;
    for (let j = 0; j < infos; j++) {
      const id = r.int8();
      r.int32(); // iterations
      r.tags();
      if (code === 0) found.push(id);
    }
    r.tags();
  }
  return found;
}

async function upsert(kafka) {
  // AlterUserScramCredentials v0 (API 51): no deletions, one upsertion. The broker stores the salt
  // and SaltedPassword = Hi(password, salt, iterations) (RFC 5802), never the password.
  const salt = randomBytes(32);
  const salted = pbkdf2Sync(password, salt, ITERATIONS, mechanism.bytes, mechanism.hash);
  const body = Buffer.concat([
    uvarint(1),
    uvarint(2),
    compactString(user),
    int8(mechanism.id),
    int32(ITERATIONS),
    compactBytes(salt),
    compactBytes(salted),
    NO_TAGS,
    NO_TAGS,
  ]);
  const r = response(await kafka.call(request(51, 2, body)), 2);
  r.int32(); // throttle
  const results = r.uvarint() - 1;
  for (let i = 0; i < results; i++) {
    r.string();
    const code = r.int16();
    const message = r.string();
    r.tags();
    if (code !== 0) throw new Error(`AlterUserScramCredentials failed: error ${code} ${message ?? ''}`);
  }
}

const timer = setTimeout(() => {
  console.error(`kafka-scram: no answer from ${address} within ${TIMEOUT_MS} ms`);
  process.exit(1);
}, TIMEOUT_MS);
const kafka = open(address);
try {
  if ((await describe(kafka)).includes(mechanism.id)) {
    console.log(`kafka: SCRAM user "${user}" has ${mechanismName}`);
  } else {
    await upsert(kafka);
    console.log(`kafka: SCRAM user "${user}" created with ${mechanismName}`);
  }
  process.exitCode = 0;
} catch (error) {
  console.error(`kafka-scram: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  kafka.close();
}
