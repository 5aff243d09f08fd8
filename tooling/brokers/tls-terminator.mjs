// A TLS terminator for brokers without TLS of their own (ElasticMQ): accepts TLS connections with
// the test server certificate and pipes the decrypted bytes to a plain TCP address. brokers.sh
// starts it in front of ElasticMQ so that `sqs+https://127.0.0.1:9325` is a real https endpoint.
// No dependencies (it runs before `pnpm install`).
//   node tls-terminator.mjs LISTEN_HOST:PORT TARGET_HOST:PORT CERT_FILE KEY_FILE
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer } from 'node:tls';

const [listen, target, certFile, keyFile] = process.argv.slice(2);
if (!listen || !target || !certFile || !keyFile) {
  console.error('usage: node tls-terminator.mjs LISTEN_HOST:PORT TARGET_HOST:PORT CERT_FILE KEY_FILE');
  process.exit(2);
}

function split(address) {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

const to = split(target);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (client) => {
  const upstream = connect(to);
  client.pipe(upstream).pipe(client);
  // Either side ending or failing ends the other; a reset is normal for HTTP keep-alive clients.
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
// A client that fails the handshake (wrong CA, plain http) is its own business, not a crash.
server.on('tlsClientError', () => {});
const at = split(listen);
server.listen(at.port, at.host, () => {
  console.log(`tls-terminator: https on ${listen} -> ${target}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
