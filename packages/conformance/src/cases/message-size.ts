import assert from 'node:assert/strict';
import type { WireMessage } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { expectRejection } from '../support/expect-error.js';

function binaryBody(size: number): Uint8Array {
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
  return body;
}

function rawMessage(id: string, body: Uint8Array): WireMessage {
  return {
    headers: { id, task: 'conformance.blob' },
    properties: { content_type: 'application/octet-stream', content_encoding: 'binary' },
    body,
  };
}

/**
 * SIZ-01: a body of exactly maxMessageBytes (every byte value) arrives byte for byte; one byte
 * more is refused with MessageTooLargeError before anything reaches the broker.
 */
export const largestMessagePassesLargerFails = defineCase({
  id: 'SIZ-01',
  title: 'the largest allowed message passes intact; one byte more fails with MessageTooLargeError',
  verifies: ['maxMessageBytes'],
  async run(ctx) {
    const transport = await ctx.transport();
    const limit = transport.capabilities.maxMessageBytes;
    const queue = ctx.queue();
    await transport.declareQueue({ name: queue });
    await expectRejection(
      () => transport.publish(queue, rawMessage(`${queue}-big`, binaryBody(limit + 1))),
      'MESSAGE_TOO_LARGE',
      `publish of a ${limit + 1}-byte body (maxMessageBytes ${limit})`,
      ctx.patienceMs,
    );
    const body = binaryBody(limit);
    await transport.publish(queue, rawMessage(`${queue}-max`, body));
    const probe = await new ConsumerProbe(transport, queue, 1, 'ack').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const got = probe.deliveries[0]!.message;
    assert.ok(
      got,
      `expected the ${limit}-byte message to decode, got malformed: ${probe.deliveries[0]!.malformed?.message}`,
    );
    assert.equal(
      got.headers.id,
      `${queue}-max`,
      `expected only the ${limit}-byte message on the queue, got ${String(got.headers.id)}: the refused one was stored`,
    );
    assert.equal(
      got.body.byteLength,
      limit,
      `expected a ${limit}-byte body, got ${got.body.byteLength} bytes`,
    );
    const at = got.body.findIndex((byte, i) => byte !== body[i]);
    assert.equal(at, -1, `expected the body byte for byte, first difference at byte ${at}`);
  },
});
