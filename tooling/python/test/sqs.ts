// Test-only helpers for the SQS self-tests: find the ElasticMQ that tooling/brokers starts, and call
// its SQS JSON API directly (this package has no AWS SDK; ElasticMQ checks no signature).

import { warnOrFailInCi } from './redis.js';

export type SqsCheck = { ok: true; endpoint: string } | { ok: false; reason: string };

/** ElasticMQ for the tests: CONVEYOR_SQS_ENDPOINT, default http://127.0.0.1:9324. */
export const SQS_ENDPOINT = (process.env.CONVEYOR_SQS_ENDPOINT ?? 'http://127.0.0.1:9324').replace(/\/$/, '');

/** Celery's broker URL for that endpoint: kombu takes the host and port of an `sqs://` URL as the
 *  endpoint (http unless the transport option `is_secure` is true); the credentials are placeholders. */
export function celerySqsUrl(endpoint: string = SQS_ENDPOINT): string {
  return `sqs://x:x@${new URL(endpoint).host}`;
}

/** One SQS JSON-protocol call (`AmazonSQS.<action>`); rejects with the server's error text. */
export async function sqsCall(
  action: string,
  body: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${SQS_ENDPOINT}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AmazonSQS.${action}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${action} failed: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Deletes the SQS queues whose names start with `prefix` (a test's own, unique prefix). */
export async function deleteQueues(prefix: string): Promise<void> {
  const listed = await sqsCall('ListQueues', { QueueNamePrefix: prefix });
  for (const url of (listed.QueueUrls as string[] | undefined) ?? [])
    await sqsCall('DeleteQueue', { QueueUrl: url });
}

/**
 * ElasticMQ for a test file that cannot run without it: skipped with a warning on a developer's
 * machine, failed under CI (see warnOrFailInCi).
 */
export async function sqsOrSkip(what: string): Promise<SqsCheck> {
  try {
    await sqsCall('ListQueues');
    return { ok: true, endpoint: SQS_ENDPOINT };
  } catch (error) {
    const reason = `no SQS at ${SQS_ENDPOINT} (bash tooling/brokers/brokers.sh up sqs): ${(error as Error).message}`;
    warnOrFailInCi(what, reason);
    return { ok: false, reason };
  }
}
