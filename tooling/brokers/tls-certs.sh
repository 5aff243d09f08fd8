#!/usr/bin/env bash
# Test certificates for the brokers' TLS listeners, made with openssl. brokers.sh runs it before
# starting brokers; it does nothing when every file is there and still valid for a day.
#
#   bash tooling/brokers/tls-certs.sh [DIR]    (default <repo>/.conveyor/brokers/tls)
#
# ca.crt / ca.key              "Conveyor test CA": signs the server and client certificates
# server.crt / server.key      CN localhost, SAN DNS:localhost and IP:127.0.0.1 (every TLS listener)
# server-keystore.pem          server.key (PKCS#8) then server.crt: Kafka's PEM keystore
# client.crt / client.key      CN conveyor-client, for brokers that check client certificates
# other-ca.crt / other-ca.key  an unrelated CA, to prove that verification fails with the wrong one
#
# Keys are unencrypted (test use only) and readable by the current user alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${1:-$(cd "$HERE/../.." && pwd)/.conveyor/brokers/tls}"
DAYS=3650
FILES=(ca.crt ca.key server.crt server.key server-keystore.pem client.crt client.key other-ca.crt other-ca.key)

command -v openssl >/dev/null || {
  echo "tls-certs: openssl is needed (apt-get install openssl)" >&2
  exit 1
}

# Everything is there, the leaves chain to our CA and none expires within a day: nothing to do.
complete() {
  local f
  for f in "${FILES[@]}"; do [ -s "$DIR/$f" ] || return 1; done
  for f in ca.crt server.crt client.crt other-ca.crt; do
    openssl x509 -in "$DIR/$f" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  done
  openssl verify -CAfile "$DIR/ca.crt" "$DIR/server.crt" "$DIR/client.crt" >/dev/null 2>&1
}

if complete; then exit 0; fi

umask 077
mkdir -p "$DIR"
work=$(mktemp -d "$DIR/.new.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

new_ca() { # name common-name
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" -keyout "$1.key" -out "$1.crt" \
    -subj "/O=Conveyor tests/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

new_leaf() { # name common-name extensions-file
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$1.key" -out "$1.csr" \
    -subj "/O=Conveyor tests/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$DAYS" -sha256 \
    -extfile "$3" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}

new_ca ca 'Conveyor test CA'
new_ca other-ca 'Unrelated test CA'
cat >server.ext <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF
cat >client.ext <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOF
new_leaf server localhost server.ext
new_leaf client conveyor-client client.ext
# Kafka reads a PEM keystore (ssl.keystore.type=PEM): an unencrypted PKCS#8 key, then the chain.
openssl pkcs8 -topk8 -nocrypt -in server.key -out server.pk8
cat server.pk8 server.crt >server-keystore.pem

for f in "${FILES[@]}"; do mv -f "$f" "$DIR/$f"; done
echo "tls-certs: made a test CA, server, client and unrelated CA certificates in $DIR"
