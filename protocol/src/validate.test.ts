import { describe, expect, it } from 'vitest';
import { sendRequest } from './__fixtures__/statements.js';
import { SendRequest } from './envelope.js';
import { ErrorBody } from './errors.js';
import { parseInput } from './validate.js';

describe('parseInput', () => {
  it('returns the parsed value for valid input', () => {
    expect(parseInput(SendRequest, sendRequest)).toEqual({ ok: true, value: sendRequest });
  });

  it('reports INVALID_INPUT with the path of the first problem', () => {
    const result = parseInput(SendRequest, { ...sendRequest, priority: 'panic' });
    expect(result).toMatchObject({ ok: false, error: { error: 'INVALID_INPUT', details: { path: 'priority' } } });
  });

  it('reports PAYLOAD_TOO_LARGE when a size limit is crossed', () => {
    const envelopes = Array.from({ length: 65 }, () => sendRequest.envelopes[0]);
    const result = parseInput(SendRequest, { ...sendRequest, envelopes });
    expect(result).toMatchObject({ ok: false, error: { error: 'PAYLOAD_TOO_LARGE' } });
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
