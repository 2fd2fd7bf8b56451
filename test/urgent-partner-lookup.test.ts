// Review #25, finding 1: an urgent send to a partner network's contact point waits for that
// network's relay to answer the look-up; the node's other urgent sends must not wait with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect, register } from './harness/device-client.js';
import type { TestDevice } from './harness/network.js';
import { type PartnerNetworks, partnerNetworks } from './harness/partner-networks.js';
import { type StandInRelay, startStandInRelay } from './harness/stand-in-relay.js';
import { until } from './harness/until.js';

const isLookUp = (path: string) => path.startsWith('/federation/v1/contact-points/');

describe('urgent sends while a partner relay is slow to answer a look-up', () => {
  let fed: PartnerNetworks;
  let wacap: StandInRelay;
  let somchai: Connection;
  let mallory: Connection;
  let niran: TestDevice;
  // WACAP's relay holds every contact-point look-up until the test lets it answer (then has nobody).
  let answerLookUps: () => void = () => {};
  const lookUpsAnswered = new Promise<void>((resolve) => {
    answerLookUps = resolve;
  });

  beforeAll(async () => {
    fed = await partnerNetworks([
      { id: 'seajust', partners: ['wacap'] },
      { id: 'wacap', partners: ['seajust'], standIn: true },
    ]);
    wacap = await startStandInRelay(fed.net('wacap').port, async (request) => {
      if (isLookUp(request.path)) await lookUpsAnswered;
    });
    const thai = fed.net('seajust').net.authority('th-oag', 'TH');
    const url = fed.relay('seajust').url;
    const somchaiDevice = await thai.contactPoint('somchai').addDevice();
    const malloryDevice = await thai.contactPoint('mallory').addDevice();
    niran = await thai.contactPoint('niran').addDevice();
    for (const d of [somchaiDevice, malloryDevice, niran]) expect((await register(url, d)).status).toBe(200);
    somchai = await connect(url, somchaiDevice);
    mallory = await connect(url, malloryDevice);
  }, 120_000);
  afterAll(async () => {
    answerLookUps();
    somchai?.close();
    mallory?.close();
    await wacap?.close();
    await fed?.stop();
  });

  const urgent = (to: string, device: string) => ({
    messageId: crypto.randomUUID(),
    recipient: to,
    priority: 'urgent' as const,
    createdAt: Date.now(),
    acknowledgeWithinMs: 30 * 60_000,
    envelopes: [{ recipientDevice: device, kind: 'message' as const, ciphertext: 'AAAA', escalationLevel: 0 }],
  });

  it("answers a local urgent send while another device's urgent send waits for the partner relay's look-up", async () => {
    let malloryAnswered = false;
    const malloryAnswer = mallory.call('send', urgent('sn-pj.ghost', niran.id)).finally(() => {
      malloryAnswered = true;
    });
    // Mallory's look-up has reached WACAP and hangs there.
    await until(() => wacap.requests.some((r) => isLookUp(r.path)), "Mallory's look-up at WACAP");
    const answer = await somchai.call('send', urgent('th-oag.niran', niran.id));
    expect(answer).toMatchObject({ ok: true, value: { duplicate: false } });
    expect(malloryAnswered).toBe(false);
    // WACAP answers at last: nobody has that id, and Mallory's send alone is refused for it.
    answerLookUps();
    expect(await malloryAnswer).toMatchObject({ ok: false, error: 'NOT_FOUND' });
  }, 60_000);
});
