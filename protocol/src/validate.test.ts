import { describe, expect, it } from 'vitest';
import { sendRequest } from './__fixtures__/statements.js';
import { base64urlLength, encodeBase64url } from './base64url.js';
import { SendRequest } from './envelope.js';
import { ErrorBody } from './errors.js';
import { LIMITS } from './limits.js';
import { parseInput } from './validate.js';

const deviceId = (i: number) => encodeBase64url(new Uint8Array(32).fill(i));

describe('parseInput', () => {
  it('returns the parsed value for valid input', () => {
    expect(parseInput(SendRequest, sendRequest)).toEqual({ ok: true, value: sendRequest });
  });

  it('reports INVALID_INPUT with the path of the first problem', () => {
    const result = parseInput(SendRequest, { ...sendRequest, priority: 'panic' });
    expect(result).toMatchObject({ ok: false, error: { error: 'INVALID_INPUT', details: { path: 'priority' } } });
  });

  it('reports PAYLOAD_TOO_LARGE when a size limit is crossed', () => {
    const envelopes = Array.from({ length: LIMITS.maxEnvelopesPerSend + 1 }, () => sendRequest.envelopes[0]);
    const result = parseInput(SendRequest, { ...sendRequest, envelopes });
    expect(result).toMatchObject({ ok: false, error: { error: 'PAYLOAD_TOO_LARGE' } });
  });

  it('reports PAYLOAD_TOO_LARGE for more ciphertext in one send than the limit, however few envelopes', () => {
    const full = 'A'.repeat(base64urlLength(LIMITS.maxCiphertextBytes));
    const count = LIMITS.maxSendCiphertextBytes / LIMITS.maxCiphertextBytes;
    const envelopes = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ...sendRequest.envelopes[0],
        recipientDevice: deviceId(i),
        ciphertext: full,
      }));
    expect(parseInput(SendRequest, { ...sendRequest, envelopes: envelopes(count) }).ok).toBe(true);
    const result = parseInput(SendRequest, { ...sendRequest, envelopes: envelopes(count + 1) });
    expect(result).toMatchObject({ ok: false, error: { error: 'PAYLOAD_TOO_LARGE', details: { path: 'envelopes' } } });
  });

  it('never echoes the offending value in the message, nor an unknown key', () => {
    const secret = 'SECRET-MARKER-VALUE';
    for (const input of [
      { ...sendRequest, recipient: secret },
      { ...sendRequest, [`${secret}\u0000`]: 1 },
    ]) {
      const result = parseInput(SendRequest, input);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(JSON.stringify(result.error)).not.toContain(secret);
        expect(ErrorBody.safeParse(result.error).success).toBe(true);
      }
    }
  });

  it('refuses a control character with INVALID_INPUT, saying where', () => {
    const result = parseInput(SendRequest, { ...sendRequest, recipient: 'vn-spp.lan\u0000' });
    expect(result).toMatchObject({
      ok: false,
      error: { error: 'INVALID_INPUT', message: 'recipient: no control characters', details: { path: 'recipient' } },
    });
  });
});
