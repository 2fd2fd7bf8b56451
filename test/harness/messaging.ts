import { bundleFromWire } from '@liaison/client';
import { type BundlesResponse, decodeBase64url, encodeBase64url, type SendRequest } from '@liaison/protocol';
import { http, token } from './device-client.js';
import { type TestDevice, testDeviceAddress } from './network.js';

/**
 * Encrypts one text for every device that must get it (the recipient's, or each recipient's when
 * given a list, and the sender's other devices), as the SDK's client will: bundles come from the
 * relay for devices without a session. With `acknowledgeWithinMs` it is urgent (level 0 only: for
 * recipients without an escalation chain). Given bytes instead of a text, it encrypts them as they
 * are: a plaintext framed and signed as the SDK seals content (evidence-content.ts), or one that is not.
 */
export async function buildSend(
  url: string,
  sender: TestDevice,
  recipientContactPoint: string | string[],
  text: string | Uint8Array,
  options: { messageId?: string; createdAt?: number; acknowledgeWithinMs?: number } = {},
): Promise<SendRequest> {
  const t = await token(url, sender);
  const bundles = async (cp: string) =>
    (await http(url, 'GET', `/v1/contact-points/${cp}/bundles`, undefined, t)).body as BundlesResponse;
  // Each bundle with the contact point it came under: a session is bound to both.
  const withOwner = (response: BundlesResponse) =>
    response.bundles.map((bundle) => ({
      bundle,
      peer: {
        deviceId: bundle.device.deviceId,
        contactPointId: response.contactPoint.contactPointId,
        accountKey: decodeBase64url(response.contactPoint.accountKey) as Uint8Array,
      },
    }));
  const recipients = typeof recipientContactPoint === 'string' ? [recipientContactPoint] : recipientContactPoint;
  const targets = [];
  for (const cp of new Set([...recipients, sender.chain.contactPoint.contactPointId]))
    targets.push(...withOwner(await bundles(cp)));
  const envelopes = [];
  for (const { bundle, peer } of targets) {
    const deviceId = peer.deviceId;
    if (deviceId === sender.id) continue;
    const has = await sender.cipher.hasSession(peer);
    const message = await sender.cipher.encrypt(
      peer,
      typeof text === 'string' ? new TextEncoder().encode(text) : text,
      has ? undefined : bundleFromWire(bundle),
    );
    envelopes.push({
      recipientDevice: deviceId,
      kind: message.kind,
      ciphertext: encodeBase64url(message.body),
      escalationLevel: 0,
    });
  }
  return {
    messageId: options.messageId ?? crypto.randomUUID(),
    ...(typeof recipientContactPoint === 'string'
      ? { recipient: recipientContactPoint }
      : { recipients: recipientContactPoint }),
    priority: options.acknowledgeWithinMs === undefined ? 'normal' : 'urgent',
    createdAt: options.createdAt ?? Date.now(),
    ...(options.acknowledgeWithinMs !== undefined && { acknowledgeWithinMs: options.acknowledgeWithinMs }),
    envelopes,
  };
}

export async function decryptText(device: TestDevice, senderDevice: string, ciphertext: string): Promise<string> {
  const bytes = Uint8Array.from(Buffer.from(ciphertext, 'base64url'));
  return new TextDecoder().decode(await device.cipher.decrypt(testDeviceAddress(senderDevice), bytes));
}
