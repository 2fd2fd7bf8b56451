// What this browser remembers outside the key store, in clear, so that the first screen knows
// whether to enrol or to ask for the passphrase: no key, no message, nothing the directory does not
// already publish.
const KEY = 'liaison.device';

export interface DeviceRecord {
  /** The key store's name (IndexedDbKeyStore `name`). */
  store: string;
  contactPointId: string;
  displayName: string;
  /** `awaiting-certificate`: the device key exists and waits for the certificate an administrator makes. */
  state: 'enrolled' | 'awaiting-certificate';
}

export function readDeviceRecord(): DeviceRecord | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    return value && typeof value.store === 'string' ? (value as DeviceRecord) : undefined;
  } catch {
    return undefined;
  }
}

export function writeDeviceRecord(record: DeviceRecord | undefined): void {
  if (record) localStorage.setItem(KEY, JSON.stringify(record));
  else localStorage.removeItem(KEY);
}
