export { SIGNED_CONTENT_ENCODING, SIGNED_CONTENT_TYPE } from './auth-envelope.js';
export { BOUND_HEADERS, HEADER_SIGNATURE_HEADER } from './bound-headers.js';
export { MessageSigner } from './message-signer.js';
export { MessageVerifier } from './message-verifier.js';
export { MessageSignatureError, type SignatureRejection } from './signature-error.js';
export { isSignedMessage } from './signed-body.js';
export { celerySignerId } from './signer-id.js';
export type {
  ClientSigningOptions,
  PemInput,
  SignatureDigest,
  WorkerSigningOptions,
} from './signing-options.js';
