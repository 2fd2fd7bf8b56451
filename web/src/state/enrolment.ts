// Enrolment of this browser as a device of a contact point, in one of two ways:
// - with the account key: the practitioner drops the files their authority issued (designation,
//   authority certificate) and their account key file; the page makes the device key, certifies it
//   with the account key (used once, then wiped), and registers;
// - through an administrator: the page makes the device key and hands out its public half (a .pub
//   file for `liaison device certify`), then takes the device certificate back.
// Either way the device key never leaves the browser, and the chain must verify to a network root
// this deployment names before anything is stored.
import {
  type AuthorityCertificate,
  type CertificateChain,
  type ContactPointCertificate,
  certifyDevice,
  checkDevice,
  type DeviceCertificate,
  encodeBase64url,
  generateIdentityKeyPair,
  LiaisonError,
  openKeyFile,
  PQ_HYBRID_CAPABILITY,
  publicKeyFile,
  readStatement,
  rotateSignedPrekey,
  type TrustedRoot,
  verifiedContactPoint,
} from '@liaison/client';
import { IndexedDbKeyStore } from '@liaison/client/browser';
import type { WebConfig } from './config.js';
import { type DeviceRecord, readDeviceRecord, writeDeviceRecord } from './device-record.js';
import { type Enrolment, Session, saveEnrolment } from './session.js';

/** A device certificate is valid this long; the administrator's own (`liaison device certify --days`) may differ. */
const DEVICE_VALIDITY_MS = 365 * 24 * 3600 * 1000;
/** Files bigger than this are not any of ours. */
const MAX_FILE_BYTES = 256 * 1024;

export interface EnrolmentFiles {
  authority?: AuthorityCertificate;
  contactPoint?: ContactPointCertificate;
  device?: DeviceCertificate;
  keyFile?: string;
}

export interface FileProblem {
  file: string;
  /** `root`: a network root, which a page does not take from files (the deployment names its roots). */
  kind: 'not-ours' | 'root';
}

/** Sorts the dropped files by what they are; what is not one of ours is named, not guessed at. */
export async function readEnrolmentFiles(
  files: readonly File[],
): Promise<{ found: EnrolmentFiles; problems: FileProblem[] }> {
  const found: EnrolmentFiles = {};
  const problems: FileProblem[] = [];
  for (const file of files) {
    if (file.size > MAX_FILE_BYTES) {
      problems.push({ file: file.name, kind: 'not-ours' });
      continue;
    }
    const text = await file.text();
    try {
      const statement = readStatement(text);
      switch (statement.kind) {
        case 'authority':
          found.authority = statement.certificate;
          break;
        case 'contact-point':
          found.contactPoint = statement.certificate;
          break;
        case 'device':
          found.device = statement.certificate;
          break;
        case 'trusted-root':
          // A root among dropped files would be trusted for good once pinned: an attacker's
          // "enrolment package" could carry one. Roots come from the deployment only.
          problems.push({ file: file.name, kind: 'root' });
          break;
        case 'key-file':
          found.keyFile = text;
          break;
      }
    } catch {
      problems.push({ file: file.name, kind: 'not-ours' });
    }
  }
  return { found, problems };
}

/** Checks the designation against the roots before anything is made: the reason, in words, if it fails. */
export function checkDesignation(files: EnrolmentFiles, config: WebConfig, now = Date.now()) {
  if (!files.contactPoint || !files.authority) {
    throw new LiaisonError(
      'INVALID_INPUT',
      'the designation (.contact.json) and the authority certificate (.authority.json) are both needed',
    );
  }
  return verifiedContactPoint(
    { authority: files.authority, contactPoint: files.contactPoint },
    { trustedRoots: config.trustedRoots, revocations: [] },
    now,
  );
}

export interface NewStore {
  storePassphrase: string;
  deviceName: string;
}

async function newDeviceStore(contactPointId: string, storePassphrase: string) {
  const store = `${contactPointId}-${encodeBase64url(crypto.getRandomValues(new Uint8Array(6)))}`;
  const keyStore = await IndexedDbKeyStore.open({ name: store, passphrase: storePassphrase, whenInUse: 'fail' });
  const identity = generateIdentityKeyPair();
  await keyStore.setIdentity(identity);
  await rotateSignedPrekey(keyStore, Date.now());
  return { store, keyStore, deviceId: encodeBase64url(identity.publicKey) };
}

/** The first way: the account key certifies the new device here, and is wiped at once. */
export async function enrolWithAccountKey(
  files: EnrolmentFiles,
  accountPassphrase: string,
  request: NewStore,
  config: WebConfig,
): Promise<Session> {
  const verified = checkDesignation(files, config);
  if (!files.keyFile) throw new LiaisonError('INVALID_INPUT', 'the account key file (.key) is needed');
  const accountKey = openKeyFile(files.keyFile, accountPassphrase);
  let device: DeviceCertificate;
  let created: Awaited<ReturnType<typeof newDeviceStore>> | undefined;
  try {
    if (encodeBase64url(accountKey.publicKey) !== verified.contactPoint.accountKey) {
      throw new LiaisonError('UNTRUSTED_IDENTITY', 'this account key is not the one the designation names');
    }
    created = await newDeviceStore(verified.contactPoint.contactPointId, request.storePassphrase);
    const now = Date.now();
    device = certifyDevice(accountKey, {
      contactPointId: verified.contactPoint.contactPointId,
      deviceId: created.deviceId,
      deviceName: request.deviceName,
      notBefore: now - 60_000,
      notAfter: now + DEVICE_VALIDITY_MS,
      capabilities: [PQ_HYBRID_CAPABILITY],
    });
  } catch (error) {
    // A device name the certificate refuses, say: the store made for this attempt goes with it.
    if (created) await discardStore(created.keyStore, created.store);
    throw error;
  } finally {
    accountKey.privateKey.fill(0);
  }
  const enrolment: Enrolment = {
    chain: { authority: verified.authority, contactPoint: verified.contactPoint, device },
    trustedRoots: config.trustedRoots,
    relayUrl: config.relayUrl,
  };
  return finish(created.keyStore, created.store, enrolment, 'delete-store');
}

/** What the second way keeps while the administrator certifies the device. */
interface PendingRequest {
  authority: AuthorityCertificate;
  contactPoint: ContactPointCertificate;
  trustedRoots: TrustedRoot[];
  relayUrl: string;
  deviceId: string;
}

const PENDING = 'device-request';

/** The second way, first half: the device key, and its .pub file for `liaison device certify --device-key`. */
export async function requestCertificate(
  files: EnrolmentFiles,
  request: NewStore,
  config: WebConfig,
): Promise<{ record: DeviceRecord; publicKeyFile: string; fileName: string }> {
  const verified = checkDesignation(files, config);
  refuseSecondDevice('');
  const { store, keyStore, deviceId } = await newDeviceStore(
    verified.contactPoint.contactPointId,
    request.storePassphrase,
  );
  const pending: PendingRequest = {
    authority: verified.authority,
    contactPoint: verified.contactPoint,
    trustedRoots: config.trustedRoots,
    relayUrl: config.relayUrl,
    deviceId,
  };
  await keyStore.appData.put(PENDING, new TextEncoder().encode(JSON.stringify(pending)));
  const identity = await keyStore.getIdentity();
  await keyStore.close();
  if (!identity) throw new LiaisonError('NO_IDENTITY', 'the new key store lost its identity');
  const record: DeviceRecord = {
    store,
    contactPointId: verified.contactPoint.contactPointId,
    displayName: verified.contactPoint.displayName,
    state: 'awaiting-certificate',
  };
  writeDeviceRecord(record);
  return {
    record,
    publicKeyFile: publicKeyFile(identity.publicKey),
    fileName: `${verified.contactPoint.contactPointId}-browser.pub`,
  };
}

/** The second way, second half: the administrator's device certificate, checked against the pending request. */
export async function completeWithCertificate(
  record: DeviceRecord,
  storePassphrase: string,
  device: DeviceCertificate,
): Promise<Session> {
  const keyStore = await IndexedDbKeyStore.open({ name: record.store, passphrase: storePassphrase, whenInUse: 'fail' });
  let chain: CertificateChain;
  let pending: PendingRequest;
  try {
    const bytes = await keyStore.appData.get(PENDING);
    if (!bytes) throw new LiaisonError('INVALID_INPUT', 'this browser has no pending device request');
    pending = JSON.parse(new TextDecoder().decode(bytes)) as PendingRequest;
    if (device.deviceId !== pending.deviceId) {
      throw new LiaisonError('UNTRUSTED_IDENTITY', "this certificate is for another device, not this browser's key");
    }
    chain = { authority: pending.authority, contactPoint: pending.contactPoint, device };
    const result = checkDevice(chain, { trustedRoots: pending.trustedRoots, revocations: [] }, Date.now());
    if (!result.ok) throw new LiaisonError(result.code, result.message);
  } catch (error) {
    await keyStore.close();
    throw error;
  }
  const enrolment = { chain, trustedRoots: pending.trustedRoots, relayUrl: pending.relayUrl };
  return finish(keyStore, record.store, enrolment, 'keep-request');
}

/**
 * Saves the enrolment, and registers the device by connecting: only a registered device is recorded
 * as this browser's. On a failure the store is closed, and `onFailure` says what happens to it.
 */
async function finish(
  keyStore: IndexedDbKeyStore,
  store: string,
  enrolment: Enrolment,
  onFailure: 'delete-store' | 'keep-request',
): Promise<Session> {
  refuseSecondDevice(store);
  await saveEnrolment(keyStore, enrolment);
  const session = await Session.start(keyStore, enrolment);
  try {
    await session.connect();
  } catch (error) {
    await session.lock();
    // A store made for this attempt goes (the next attempt makes its own); a pending request stays,
    // so that the administrator's certificate can be given again once the relay is reachable.
    if (onFailure === 'delete-store') await discardStore(undefined, store);
    throw error;
  }
  await keyStore.appData.delete(PENDING);
  writeDeviceRecord({
    store,
    contactPointId: enrolment.chain.contactPoint.contactPointId,
    displayName: enrolment.chain.contactPoint.displayName,
    state: 'enrolled',
  });
  await navigator.storage?.persist?.().catch(() => false);
  return session;
}

/** Closes (when open) and deletes a key store made for an enrolment that did not complete. */
async function discardStore(keyStore: IndexedDbKeyStore | undefined, store: string): Promise<void> {
  await keyStore?.close();
  // IndexedDbKeyStore keeps a device in the database `liaison-key-store:<name>` (its documented layout).
  indexedDB.deleteDatabase(`liaison-key-store:${store}`);
}

/** One device per browser profile: a second tab that enrolled meanwhile must not be silently replaced. */
function refuseSecondDevice(store: string): void {
  const existing = readDeviceRecord();
  if (existing && existing.store !== store) {
    throw new LiaisonError('DEVICE_IN_USE', 'this browser was enrolled meanwhile, in another tab');
  }
}
