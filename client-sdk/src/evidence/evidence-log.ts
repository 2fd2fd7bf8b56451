import type {
  AuthorityCertificate,
  ContactPointCertificate,
  DeviceCertificate,
  EvidenceReceipt,
  NetworkManifest,
  RelayReceipt,
} from '@liaison/protocol';
import type { KeyStore } from '../key-store/key-store.js';

/** A message as its sender signed it, base64url throughout. */
export interface LoggedMessage {
  type: 'message';
  messageId: string;
  from: string;
  fromDevice: string;
  content: string;
  signature: string;
  /** SHA-256 of the content bytes. */
  hash: string;
}

export type LogEntry =
  | LoggedMessage
  | { type: 'receipt'; receipt: EvidenceReceipt }
  | { type: 'relay-receipt'; receipt: RelayReceipt };

/** What this device knows of one message, to accept receipts about it and to find its conversation. */
export interface MessageIndex {
  /** The other contact point of the conversation the message belongs to. */
  peer: string;
  from: string;
  /** Who may sign receipts for it: its recipient, then its escalation chain. */
  readers: string[];
  /** Content hashes of its copies (an urgent message has one per escalation level). */
  hashes: string[];
  /** The receipts recorded, one per kind and device (`delivered:<device>`, `acknowledged:<device>`, `relay`). */
  receipts: string[];
  /** The request it opens or is about. */
  requestId?: string;
}

export interface DeviceChain {
  authority: AuthorityCertificate;
  contactPoint: ContactPointCertificate;
  device: DeviceCertificate;
}

/**
 * The evidence this device keeps, in its key store: per conversation, an append-only log of the
 * signed messages and receipts it saw, in the order it recorded them; an index per message; the
 * certificate chains of every device that signed something; the manifests that certify relay keys.
 * A case record is cut from these (record.ts). Appends are one at a time.
 */
export class EvidenceLog {
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: KeyStore) {}

  /**
   * Records a message once per copy (message id and content hash): 'added', 'known' when it was, or
   * 'elsewhere' when the id is another conversation's or another sender's (a reused id is not
   * mixed into this conversation's log).
   */
  addMessage(
    peer: string,
    entry: LoggedMessage,
    about: Omit<MessageIndex, 'peer' | 'hashes' | 'receipts'>,
  ): Promise<'added' | 'known' | 'elsewhere'> {
    return this.serially(async () => {
      const known = await this.message(entry.messageId);
      if (known && (known.peer !== peer || known.from !== entry.from)) return 'elsewhere';
      if (known?.hashes.includes(entry.hash)) return 'known';
      await this.append(peer, entry);
      await this.setIndex(entry.messageId, {
        ...about,
        peer,
        hashes: [...(known?.hashes ?? []), entry.hash],
        receipts: known?.receipts ?? [],
      });
      return 'added';
    });
  }

  /**
   * Records a receipt about a message already recorded, once per kind and signing device (a device
   * that signs the same receipt again, at another time, adds nothing); false when it was known or
   * the message is not.
   */
  addReceipt(entry: Exclude<LogEntry, LoggedMessage>) {
    return this.serially(async () => {
      const known = await this.message(entry.receipt.messageId);
      const key = receiptKey(entry);
      if (!known || known.receipts.includes(key)) return false;
      await this.append(known.peer, entry);
      await this.setIndex(entry.receipt.messageId, { ...known, receipts: [...known.receipts, key] });
      return true;
    });
  }

  async message(messageId: string): Promise<MessageIndex | undefined> {
    const raw = await this.store.getState(`evidence:msg:${messageId}`);
    return raw ? (JSON.parse(raw) as MessageIndex) : undefined;
  }

  /** The conversation's log, in the order recorded. */
  async entries(peer: string): Promise<LogEntry[]> {
    const count = Number((await this.store.getState(countKey(peer))) ?? 0);
    const entries: LogEntry[] = [];
    for (let i = 0; i < count; i++) {
      const raw = await this.store.getState(entryKey(peer, i));
      if (raw) entries.push(JSON.parse(raw) as LogEntry);
    }
    return entries;
  }

  /** Keeps a device's chain as it was verified, each certificate once: the record carries it after the device is gone. */
  keepChain(chain: DeviceChain) {
    return this.serially(async () => {
      const chains = await this.chainsOf(chain.device.deviceId);
      if (
        chains.some(
          (c) =>
            c.device.signature === chain.device.signature && c.contactPoint.signature === chain.contactPoint.signature,
        )
      )
        return;
      await this.store.setState(`evidence:cert:${chain.device.deviceId}`, JSON.stringify([...chains, chain]));
    });
  }

  async chainsOf(deviceId: string): Promise<DeviceChain[]> {
    const raw = await this.store.getState(`evidence:cert:${deviceId}`);
    return raw ? (JSON.parse(raw) as DeviceChain[]) : [];
  }

  /**
   * Keeps a manifest that certified a relay receipt, every version of it: after the network rotates
   * its relay key, a record of an older conversation still carries the version that named the old one.
   */
  keepManifest(manifest: NetworkManifest) {
    return this.serially(async () => {
      await this.store.setState(manifestKey(manifest.networkId, manifest.version), JSON.stringify(manifest));
      if (manifest.version > (await this.newestManifestVersion(manifest.networkId)))
        await this.store.setState(`evidence:manifest:${manifest.networkId}:newest`, String(manifest.version));
    });
  }

  /** The newest version of a network's manifest seen here (0: none): an older one is not accepted again. */
  async newestManifestVersion(networkId: string): Promise<number> {
    return Number((await this.store.getState(`evidence:manifest:${networkId}:newest`)) ?? 0);
  }

  /** The newest kept version of a network's manifest that names a relay key. */
  async manifestNaming(networkId: string, relayKey: string): Promise<NetworkManifest | undefined> {
    const prefix = `evidence:manifest:${networkId}:v`;
    const versions = (await this.store.stateKeys(prefix)).map((name) => Number(name.slice(prefix.length)));
    for (const version of versions.sort((x, y) => y - x)) {
      const raw = await this.store.getState(manifestKey(networkId, version));
      const manifest = raw ? (JSON.parse(raw) as NetworkManifest) : undefined;
      if (manifest?.relays.some((r) => r.signingKey === relayKey)) return manifest;
    }
    return undefined;
  }

  /** The message ids of the requests this device knows, with their conversation. */
  async requests(): Promise<{ requestId: string; peer: string }[]> {
    const names = await this.store.stateKeys('evidence:request:');
    return Promise.all(
      names.map(async (name) => ({
        requestId: name.slice('evidence:request:'.length),
        peer: (await this.store.getState(name)) as string,
      })),
    );
  }

  noteRequest(requestId: string, peer: string): Promise<void> {
    return this.store.setState(`evidence:request:${requestId}`, peer);
  }

  private async append(peer: string, entry: LogEntry): Promise<void> {
    const count = Number((await this.store.getState(countKey(peer))) ?? 0);
    await this.store.setState(entryKey(peer, count), JSON.stringify(entry));
    await this.store.setState(countKey(peer), String(count + 1));
  }

  private setIndex(messageId: string, index: MessageIndex): Promise<void> {
    return this.store.setState(`evidence:msg:${messageId}`, JSON.stringify(index));
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writing.catch(() => undefined).then(task);
    this.writing = run;
    return run;
  }
}

const manifestKey = (networkId: string, version: number) => `evidence:manifest:${networkId}:v${version}`;
const receiptKey = (entry: Exclude<LogEntry, LoggedMessage>) =>
  entry.type === 'relay-receipt' ? 'relay' : `${entry.receipt.kind}:${entry.receipt.byDevice}`;
const countKey = (peer: string) => `evidence:log:${peer}:count`;
const entryKey = (peer: string, i: number) => `evidence:log:${peer}:${i}`;
