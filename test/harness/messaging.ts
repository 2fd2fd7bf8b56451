import { bundleFromWire } from '@liaison/client';
import { type BundlesResponse, encodeBase64url, type SendRequest } from '@liaison/protocol';
import { http, token } from './device-client.js';
import type { TestDevice } from './network.js';

/**
 * Encrypts one text for every device that must get it (the recipient's, and the sender's other
 * devices), as the SDK's client will: bundles come from the relay for devices without a session.
 * With `acknowledgeWithinMs` it is urgent (level 0 only: for recipients without an escalation chain).
 */
export async function buildSend(
  url: string,
  sender: TestDevice,
  recipientContactPoint: string,
  text: string,
  options: { messageId?: string; createdAt?: number; acknowledgeWithinMs?: number } = {},
): Promise<SendRequest> {
  const t = await token(url, sender);
  const bundles = async (cp: string) =>
    (await http(url, 'GET', `/v1/contact-points/${cp}/bundles`, undefined, t)).body as BundlesResponse;
  const targets = [...(await bundles(recipientContactPoint)).bundles];
  if (recipientContactPoint !== sender.chain.contactPoint.contactPointId) {
    targets.push(...(await bundles(sender.chain.contactPoint.contactPointId)).bundles);
  }
  const envelopes = [];
  for (const bundle of targets) {
    const deviceId = bundle.device.deviceId;
    if (deviceId === sender.id) continue;
    const has = await sender.cipher.hasSession(deviceId);
    const message = await sender.cipher.encrypt(
      deviceId,
      new TextEncoder().encode(text),
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
    recipient: recipientContactPoint,
    priority: options.acknowledgeWithinMs === undefined ? 'normal' : 'urgent',
    createdAt: options.createdAt ?? Date.now(),
    ...(options.acknowledgeWithinMs !== undefined && { acknowledgeWithinMs: options.acknowledgeWithinMs }),
    envelopes,
  };
}

export async function decryptText(device: TestDevice, senderDevice: string, ciphertext: string): Promise<string> {
  const bytes = Uint8Array.from(Buffer.from(ciphertext, 'base64url'));
  return new TextDecoder().decode(await device.cipher.decrypt(senderDevice, bytes));
}
