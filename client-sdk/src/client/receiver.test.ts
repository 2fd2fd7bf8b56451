import { type Envelope, encodeBase64url, LIMITS } from '@liaison/protocol';
import { describe, expect, it, vi } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import type { LiaisonError } from '../errors.js';
import type { Inbox } from './inbox.js';
import { Receiver } from './receiver.js';

const deviceId = encodeBase64url(new Uint8Array(32).fill(7));
const envelope = (i: number): Envelope => ({
  messageId: crypto.randomUUID(),
  senderContactPoint: 'th-oag.somchai',
  senderDevice: deviceId,
  recipientDevice: deviceId,
  kind: 'message',
  priority: 'normal',
  ciphertext: encodeBase64url(new Uint8Array(64).fill(i)),
  createdAt: NOW + i,
  serverTime: NOW + i,
  escalationLevel: 0,
});

/**
 * A receiver whose inbox has every envelope already (so none is decrypted): what reaches the relay
 * is only the acknowledgements, and what reaches the application only the reports.
 */
function receiver() {
  const acks: string[][] = [];
  const reports: unknown[] = [];
  const seen: string[] = [];
  const inbox = {
    delivered: async (e: Envelope) => {
      seen.push(e.messageId);
      return true;
    },
  } as unknown as Inbox;
  const never = () => {
    throw new Error('not reached');
  };
  const r = new Receiver(
    'vn-spp.bob',
    never as never,
    inbox,
    never as never,
    never as never,
    never as never,
    async (messageIds) => {
      acks.push(messageIds);
    },
    never as never,
    never as never,
    async (error) => {
      reports.push(error);
    },
  );
  return { r, acks, reports, seen };
}

describe('envelopes the relay pushes, several in one event', () => {
  it('handles them in order and acknowledges them with one `envelopes:ack`', async () => {
    const { r, acks, reports, seen } = receiver();
    const frame = [1, 2, 3].map(envelope);
    r.push(frame);
    await r.idle();
    await vi.waitFor(() => expect(acks).toHaveLength(1));
    expect(seen).toEqual(frame.map((e) => e.messageId));
    expect(acks[0]).toEqual(frame.map((e) => e.messageId));
    expect(reports).toEqual([]);
  });

  it.each([
    ['not an array', envelope(1)],
    ['an empty array', []],
    [
      `more than the window (${LIMITS.deliveryWindow})`,
      Array.from({ length: LIMITS.deliveryWindow + 1 }, (_, i) => envelope(i)),
    ],
    ['one malformed element', [envelope(1), { ...envelope(2), ciphertext: 'not base64url!' }]],
    ['an element with a field the protocol does not have', [{ ...envelope(1), plaintext: 'hello' }]],
  ])('drops an event that is %s whole: reported, nothing handled or acknowledged', async (_, frame) => {
    const { r, acks, reports, seen } = receiver();
    r.push(frame);
    await r.idle();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([]);
    expect(acks).toEqual([]);
    expect(reports.map((e) => (e as LiaisonError).code)).toEqual(['INVALID_MESSAGE']);
  });
});
