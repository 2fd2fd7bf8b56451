import { BlobStatus } from '@liaison/protocol';
import { RelayError } from '../errors.js';
import type { Partners } from './partners.js';
import type { PeerClient } from './peer-client.js';

/** Blobs whose partner relay we found, so that the chunks after the first go straight there. */
const REMEMBERED = 10_000;

/**
 * Attachments stay on the relay of the device that uploaded them. One of our devices that reads an
 * attachment a partner network's contact point sent asks us, as for any other; we ask the partner
 * relays for it, naming the reader, and the uploader's relay checks the reader is one it was given
 * and one of our network's devices. The ciphertext passes through; nothing is kept.
 */
export class RemoteBlobs {
  private readonly where = new Map<string, string>();
  /** Blobs no partner had for a reader, not asked for again for a minute (a client cannot make us ask in a loop). */
  private readonly missing = new Map<string, number>();

  constructor(
    private readonly partners: Partners,
    private readonly peers: PeerClient,
  ) {}

  /** The blob's status from the partner relay that holds it and lets this reader read it; undefined if none does. */
  async status(blobId: string, reader: string): Promise<BlobStatus | undefined> {
    const path = this.path(blobId, '', reader);
    const key = `${blobId}:${reader}`;
    if ((this.missing.get(key) ?? 0) > Date.now()) return undefined;
    const known = this.where.get(blobId);
    const networks = known ? [known] : this.partners.list().map((p) => p.networkId);
    const answers = await Promise.allSettled(
      networks.map(async (networkId) => ({
        networkId,
        status: await this.peers.json(networkId, 'GET', path, BlobStatus),
      })),
    );
    const found = answers.find((a) => a.status === 'fulfilled');
    if (found?.status !== 'fulfilled') {
      const away = answers.find(
        (a) => a.status === 'rejected' && a.reason instanceof RelayError && a.reason.code === 'UNAVAILABLE',
      );
      if (away?.status === 'rejected') throw away.reason;
      if (this.missing.size >= REMEMBERED) this.missing.clear();
      this.missing.set(key, Date.now() + 60_000);
      return undefined;
    }
    if (this.where.size >= REMEMBERED) this.where.clear();
    this.where.set(blobId, found.value.networkId);
    return found.value.status;
  }

  async chunk(blobId: string, index: number, reader: string): Promise<Uint8Array | undefined> {
    const networkId = await this.networkOf(blobId, reader);
    return networkId === undefined
      ? undefined
      : this.peers.bytes(networkId, this.path(blobId, `/chunks/${index}`, reader));
  }

  async downloaded(blobId: string, reader: string): Promise<BlobStatus | undefined> {
    const networkId = await this.networkOf(blobId, reader);
    return networkId === undefined
      ? undefined
      : this.peers.json(networkId, 'POST', this.path(blobId, '/downloaded', reader), BlobStatus, {});
  }

  private async networkOf(blobId: string, reader: string): Promise<string | undefined> {
    if (!this.where.has(blobId)) await this.status(blobId, reader);
    return this.where.get(blobId);
  }

  private path(blobId: string, rest: string, reader: string): string {
    return `/federation/v1/blobs/${encodeURIComponent(blobId)}${rest}?reader=${encodeURIComponent(reader)}`;
  }
}
