import assert from 'node:assert/strict';
import { ConveyorError, type WireMessage } from '@conveyor/core';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';

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
    await assert.rejects(
      () => transport.publish(queue, rawMessage(`${queue}-big`, binaryBody(limit + 1))),
      (error: unknown) => error instanceof ConveyorError && error.code === 'MESSAGE_TOO_LARGE',
      'a body over the limit must be refused',
    );
    const body = binaryBody(limit);
    await transport.publish(queue, rawMessage(`${queue}-max`, body));
    const probe = await new ConsumerProbe(transport, queue, 1, 'ack').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const got = probe.deliveries[0]!.message;
    assert.ok(got, 'the largest message must decode');
    assert.equal(got.headers.id, `${queue}-max`, 'the oversized message must not have been stored');
    assert.equal(got.body.byteLength, limit, 'size changed in transit');
    assert.ok(Buffer.from(got.body).equals(Buffer.from(body)), 'bytes changed in transit');
  },
});
