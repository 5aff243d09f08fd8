import type { JsonValue } from '../message/json-value.js';

/**
 * Header carrying Conveyor's optional second signature, over the headers that say which task runs
 * (Celery's signature covers the body only). Python Celery ignores it: a header it does not know.
 */
export const HEADER_SIGNATURE_HEADER = 'x-conveyor-header-signature';

/**
 * The headers bound to the body: what names the task and places it in a workflow. Headers a
 * worker rewrites on the way (`retries`, `eta` on a retry or a deferral) are left out, so a
 * re-published message keeps a valid signature without the worker holding a key.
 */
export const BOUND_HEADERS = ['task', 'id', 'root_id', 'parent_id', 'group', 'shadow'] as const;

/**
 * The bytes the header signature covers: the bound headers (absent = null) and the body's own
 * signature, so a header signature cannot be moved onto another body.
 */
export function boundHeaderBytes(headers: Record<string, JsonValue>, bodySignature: Buffer): Buffer {
  const values = BOUND_HEADERS.map((name) => headers[name] ?? null);
  return Buffer.from(JSON.stringify([...values, bodySignature.toString('base64')]), 'utf8');
}
