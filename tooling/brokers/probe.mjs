// Readiness probes for brokers.sh: one real client round trip per broker, with no dependencies so
// it runs before `pnpm install`. Exit 0 and one line on stdout when the broker answered, exit 1
// and the reason on stderr when not.
//   node probe.mjs kafka 127.0.0.1:9092     Kafka Metadata (brokers, controller) and FindCoordinator
//   node probe.mjs amqp 127.0.0.1:5672      AMQP 0-9-1 handshake, PLAIN guest/guest, open vhost "/"
//   node probe.mjs sqs http://127.0.0.1:9324   SQS ListQueues over the AWS JSON 1.0 protocol
// Over TLS, trusting only the test CA of PROBE_TLS_DIR (ca.crt) and showing its client certificate
// (client.crt, client.key), as the brokers' TLS listeners expect:
//   node probe.mjs amqps 127.0.0.1:5671     the same AMQP handshake, over TLS
//   node probe.mjs redis-tls 127.0.0.1:6380 PING answers PONG, over TLS
//   node probe.mjs tls 127.0.0.1:9094       a TLS handshake only (Kafka's SASL_SSL listener)
//   node probe.mjs sqs https://127.0.0.1:9325  ListQueues through the TLS terminator
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as connectTls } from 'node:tls';

const TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS ?? 5000);

function splitHostPort(address, defaultPort) {
  const at = address.lastIndexOf(':');
  if (at < 0) return { host: address, port: defaultPort };
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/**
 * Opens a TCP connection and hands `talk` a reader that resolves once `size` more bytes arrived.
 * @param {string} address
 * @param {number} defaultPort
 * @param {(io: { write: (b: Buffer) => void, read: (n: number) => Promise<Buffer> }) => Promise<string>} talk
 */
function session(address, defaultPort, talk, secure = false) {
  const { host, port } = splitHostPort(address, defaultPort);
  return new Promise((resolve, reject) => {
    const socket = secure ? connectTls({ host, port, ...testTls() }) : connect({ host, port });
    let buffered = Buffer.alloc(0);
    /** @type {{ n: number, resolve: (b: Buffer) => void } | null} */
    let waiting = null;
    let closedError = null;
    const timer = setTimeout(() => fail(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    function fail(error) {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    function pump() {
      if (waiting && buffered.length >= waiting.n) {
        const chunk = buffered.subarray(0, waiting.n);
        buffered = buffered.subarray(waiting.n);
        const w = waiting;
        waiting = null;
        w.resolve(chunk);
      }
    }
    socket.on('data', (data) => {
      buffered = Buffer.concat([buffered, data]);
      pump();
    });
    socket.on('error', (error) => fail(error));
    socket.on('close', () => {
      closedError = new Error('connection closed by the server');
      if (waiting) fail(closedError);
    });
    socket.on(secure ? 'secureConnect' : 'connect', () => {
      const io = {
        write: (b) => socket.write(b),
        read: (n) =>
          new Promise((res, rej) => {
            if (closedError && buffered.length < n) return rej(closedError);
            waiting = { n, resolve: res };
            pump();
          }),
      };
      talk(io).then(
        (line) => {
          clearTimeout(timer);
          socket.end();
          resolve(line);
        },
        (error) => fail(error),
      );
    });
  });
}

/** The test CA and client certificate that tls-certs.sh made, from PROBE_TLS_DIR. */
function testTls() {
  const dir = process.env.PROBE_TLS_DIR;
  if (!dir) throw new Error('PROBE_TLS_DIR (the folder tls-certs.sh wrote) is not set');
  return {
    ca: readFileSync(`${dir}/ca.crt`),
    cert: readFileSync(`${dir}/client.crt`),
    key: readFileSync(`${dir}/client.key`),
  };
}

async function probeTlsHandshake(address) {
  return session(address, 443, async () => 'handshake done', true).then(
    () => `tls: handshake with the test CA's certificate`,
  );
}

async function probeRedisTls(address) {
  return session(
    address,
    6380,
    async (io) => {
      io.write(Buffer.from('*1\r\n$4\r\nPING\r\n'));
      const reply = (await io.read(7)).toString('latin1');
      if (reply !== '+PONG\r\n') throw new Error(`PING answered ${JSON.stringify(reply)}`);
      return 'redis over TLS: PONG';
    },
    true,
  );
}

// ---- Kafka ------------------------------------------------------------------------------------

function kafkaString(value) {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function kafkaRequest(apiKey, apiVersion, correlationId, body) {
  const header = Buffer.alloc(8);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  const payload = Buffer.concat([header, kafkaString('conveyor-brokers-probe'), body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

function kafkaReader(r) {
  let o = 0;
  const reader = {
    int16: () => {
      const v = r.readInt16BE(o);
      o += 2;
      return v;
    },
    int32: () => {
      const v = r.readInt32BE(o);
      o += 4;
      return v;
    },
    str: () => {
      const n = reader.int16();
      if (n < 0) return null;
      const v = r.toString('utf8', o, o + n);
      o += n;
      return v;
    },
  };
  return reader;
}

async function probeKafka(address) {
  return session(address, 9092, async (io) => {
    const response = async (correlationId) => {
      const size = (await io.read(4)).readInt32BE(0);
      const reader = kafkaReader(await io.read(size));
      if (reader.int32() !== correlationId) throw new Error('Kafka answered with another correlation id');
      return reader;
    };

    // Metadata v1 (Kafka 0.10 through 4.x): topics = null (all topics).
    const all = Buffer.alloc(4);
    all.writeInt32BE(-1);
    io.write(kafkaRequest(3, 1, 1, all));
    const m = await response(1);
    const brokers = [];
    const brokerCount = m.int32();
    for (let i = 0; i < brokerCount; i++) {
      const id = m.int32();
      const host = m.str();
      const port = m.int32();
      m.str(); // rack
      brokers.push(`${id}@${host}:${port}`);
    }
    const controller = m.int32();
    const topicCount = m.int32();
    if (brokers.length === 0) throw new Error('Kafka answered Metadata with no live broker yet');
    if (controller < 0) throw new Error('Kafka answered Metadata with no active controller yet');

    // FindCoordinator v0 for a group: the first one creates __consumer_offsets; until it is
    // loaded the answer is COORDINATOR_NOT_AVAILABLE (15), and consumer groups would fail to join.
    io.write(kafkaRequest(10, 0, 2, kafkaString('conveyor-brokers-probe')));
    const c = await response(2);
    const errorCode = c.int16();
    if (errorCode !== 0) throw new Error(`group coordinator not available yet (error ${errorCode})`);
    const coordinator = c.int32();
    return `kafka: brokers ${brokers.join(',')}, controller ${controller}, group coordinator ${coordinator}, ${topicCount} topic(s)`;
  });
}

// ---- AMQP 0-9-1 -------------------------------------------------------------------------------

function amqpMethodFrame(classId, methodId, args) {
  const payload = Buffer.concat([
    Buffer.from([classId >> 8, classId & 255, methodId >> 8, methodId & 255]),
    args,
  ]);
  const head = Buffer.alloc(7);
  head.writeUInt8(1, 0); // method frame
  head.writeUInt16BE(0, 1); // channel 0
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

function shortStr(value) {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function longStr(value) {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

async function probeAmqp(address, user, password, secure = false) {
  return session(
    address,
    secure ? 5671 : 5672,
    async (io) => {
      const readMethod = async () => {
        const head = await io.read(7);
        const size = head.readUInt32BE(3);
        const payload = await io.read(size + 1);
        if (head.readUInt8(0) !== 1) return readMethod(); // skip heartbeats and others
        const classId = payload.readUInt16BE(0);
        const methodId = payload.readUInt16BE(2);
        if (classId === 10 && methodId === 50) {
          const code = payload.readUInt16BE(4);
          const text = payload.toString('utf8', 7, 7 + payload.readUInt8(6));
          throw new Error(`server closed the connection: ${code} ${text}`);
        }
        return { classId, methodId, args: payload.subarray(4, size) };
      };
      const expect = async (classId, methodId, name) => {
        const m = await readMethod();
        if (m.classId !== classId || m.methodId !== methodId) {
          throw new Error(`expected ${name}, got method ${m.classId}.${m.methodId}`);
        }
        return m;
      };

      io.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
      const start = await expect(10, 10, 'Connection.Start');
      const version = `${start.args.readUInt8(0)}-${start.args.readUInt8(1)}`;
      io.write(
        amqpMethodFrame(
          10,
          11,
          Buffer.concat([
            Buffer.from([0, 0, 0, 0]), // client properties: empty table
            shortStr('PLAIN'),
            longStr(`\0${user}\0${password}`),
            shortStr('en_US'),
          ]),
        ),
      );
      const tune = await expect(10, 30, 'Connection.Tune');
      const tuneOk = Buffer.alloc(8);
      tuneOk.writeUInt16BE(tune.args.readUInt16BE(0), 0); // channel max
      tuneOk.writeUInt32BE(tune.args.readUInt32BE(2), 2); // frame max
      tuneOk.writeUInt16BE(0, 6); // no heartbeats
      io.write(amqpMethodFrame(10, 31, tuneOk));
      io.write(amqpMethodFrame(10, 40, Buffer.concat([shortStr('/'), shortStr(''), Buffer.from([0])])));
      await expect(10, 41, 'Connection.OpenOk');
      const close = Buffer.concat([Buffer.from([0, 200]), shortStr('probe done'), Buffer.from([0, 0, 0, 0])]);
      io.write(amqpMethodFrame(10, 50, close));
      await expect(10, 51, 'Connection.CloseOk');
      return `amqp ${version}${secure ? ' over TLS' : ''}: logged in as ${user}, opened vhost /`;
    },
    secure,
  );
}

// ---- SQS --------------------------------------------------------------------------------------

async function probeSqs(endpoint) {
  // fetch trusts the test CA through NODE_EXTRA_CA_CERTS, which brokers.sh sets for https.
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
    body: '{}',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`ListQueues answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  const queues = JSON.parse(text).QueueUrls ?? [];
  return `sqs ListQueues: HTTP ${response.status}, ${queues.length} queue(s)`;
}

const [kind, address] = process.argv.slice(2);
const probes = {
  kafka: () => probeKafka(address ?? '127.0.0.1:9092'),
  amqp: () => probeAmqp(address ?? '127.0.0.1:5672', 'guest', 'guest'),
  amqps: () => probeAmqp(address ?? '127.0.0.1:5671', 'guest', 'guest', true),
  'redis-tls': () => probeRedisTls(address ?? '127.0.0.1:6380'),
  tls: () => probeTlsHandshake(address ?? '127.0.0.1:9094'),
  sqs: () => probeSqs(address ?? 'http://127.0.0.1:9324'),
};
const probe = kind ? probes[kind] : undefined;
if (!probe) {
  console.error('usage: node probe.mjs kafka|amqp|amqps|redis-tls|tls|sqs [address]');
  process.exit(2);
}
// A probe that never settles must not pass: Node exits 0 when the event loop runs dry with a
// promise still pending (seen with fetch against a server that drops the connection).
process.exitCode = 1;
let settled = false;
process.on('exit', () => {
  if (!settled) console.error(`${kind} probe: no answer (the connection ended without a reply)`);
});
probe().then(
  (line) => {
    settled = true;
    process.exitCode = 0;
    console.log(line);
  },
  (error) => {
    settled = true;
    console.error(`${kind} probe: ${error instanceof Error ? error.message : String(error)}`);
  },
);
