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
  /** The signatures of the receipts recorded, each once. */
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

  /** Records a message once per copy (message id and content hash); false when it was known. */
  addMessage(peer: string, entry: LoggedMessage, about: Omit<MessageIndex, 'peer' | 'hashes' | 'receipts'>) {
    return this.serially(async () => {
      const known = await this.message(entry.messageId);
      if (known?.hashes.includes(entry.hash)) return false;
      await this.append(known?.peer ?? peer, entry);
      await this.setIndex(entry.messageId, {
        ...about,
        peer: known?.peer ?? peer,
        hashes: [...(known?.hashes ?? []), entry.hash],
        receipts: known?.receipts ?? [],
      });
      return true;
    });
  }

  /** Records a receipt about a message already recorded, once; false when it was known or the message is not. */
  addReceipt(entry: Exclude<LogEntry, LoggedMessage>) {
    return this.serially(async () => {
      const known = await this.message(entry.receipt.messageId);
      if (!known || known.receipts.includes(entry.receipt.signature)) return false;
      await this.append(known.peer, entry);
      await this.setIndex(entry.receipt.messageId, {
        ...known,
        receipts: [...known.receipts, entry.receipt.signature],
      });
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

  keepManifest(manifest: NetworkManifest) {
    return this.serially(async () => {
      const known = await this.manifest(manifest.networkId);
      if (known && known.version >= manifest.version) return;
      await this.store.setState(`evidence:manifest:${manifest.networkId}`, JSON.stringify(manifest));
    });
  }

  async manifest(networkId: string): Promise<NetworkManifest | undefined> {
    const raw = await this.store.getState(`evidence:manifest:${networkId}`);
    return raw ? (JSON.parse(raw) as NetworkManifest) : undefined;
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

const countKey = (peer: string) => `evidence:log:${peer}:count`;
const entryKey = (peer: string, i: number) => `evidence:log:${peer}:${i}`;
