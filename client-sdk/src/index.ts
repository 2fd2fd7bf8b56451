// The protocol's shapes an application handles through the SDK (certificates it shows, receipts and
// urgent states it renders, directory queries it builds), as types only: an application imports the
// SDK, never @liaison/protocol, and no schema code comes with them.
export type {
  Attachment,
  AuthorityCertificate,
  Availability,
  CaseRecord,
  CertificateChain,
  ContactPointCertificate,
  DeviceCertificate,
  DirectoryQuery,
  EvidenceReceipt,
  Receipt,
  RelayReceipt,
  RequestKind,
  RequestStatus,
  Revocation,
  RoomChange,
  RoomRole,
  TrustedRoot,
  TrustFailure,
  TrustResult,
  UrgentState,
  VerifiedContactPoint,
  VerifiedDevice,
} from '@liaison/protocol';
// Device ids and keys are base64url on the wire and in certificates (certifyDevice takes one, and
// the capability a new device's certificate declares); the lists of handling codes and competences
// are what a user interface offers to choose from.
export {
  COMPETENCES,
  type Competence,
  decodeBase64url,
  encodeBase64url,
  HANDLING_CODES,
  type HandlingCode,
  PQ_HYBRID_CAPABILITY,
  REQUEST_KINDS,
  REQUEST_STATUSES,
} from '@liaison/protocol';
export {
  AttachmentOpener,
  AttachmentSealer,
  plaintextChunks,
  Sha256,
} from './attachments/attachment-cipher.js';
export {
  type AttachmentSink,
  type AttachmentSource,
  type ChunkCache,
  type DownloadOptions,
  fromBytes,
  type TransferOptions,
  type TransferProgress,
} from './attachments/transfer.js';
export { hashOnThisThread, type TransferHash, type TransferHashFactory } from './attachments/transfer-hash.js';
export { answerChallenge } from './auth.js';
export type { OutgoingMessage } from './client/content.js';
export {
  type ConnectionEvent,
  type ConnectionState,
  type DeviceSession,
  LiaisonClient,
  type LiaisonClientOptions,
} from './client/liaison-client.js';
export { DEFAULT_ACKNOWLEDGE_WITHIN_MS, type SendOptions, type UrgentOptions } from './client/outbox.js';
export type { ReceivedMessage, VerifiedSender } from './client/receiver.js';
export { bundleFromWire } from './crypto/bundle.js';
export { openKeyFile, publicKeyFile, sealKeyFile } from './crypto/key-file.js';
export {
  generateIdentityKeyPair,
  generateKemPrekey,
  type IdentityKeyPair,
  publicKemPrekey,
  type StoredKemPrekey,
  type StoredOneTimePrekey,
  type StoredSignedPrekey,
} from './crypto/keys.js';
export {
  currentLastResortKemPrekey,
  currentSignedPrekey,
  DEFAULT_PREKEY_POLICY,
  type PrekeyPolicy,
  refillKemPrekeys,
  refillOneTimePrekeys,
  rotateLastResortKemPrekey,
  rotateSignedPrekey,
} from './crypto/prekeys.js';
export {
  formatSafetyNumber,
  type SafetyNumberParty,
  safetyNumber,
  safetyNumbersMatch,
} from './crypto/safety-number.js';
export { type EncryptedMessage, SessionCipher, type SessionPeer } from './crypto/session-cipher.js';
export { ready } from './crypto/sodium.js';
export type { ContactPointBinding, RemoteBundle, RemoteKemPrekey, SessionVersion } from './crypto/x3dh.js';
export { CLIENT_ERROR_CODES, isLiaisonError, isRetryable, LiaisonError, type LiaisonErrorCode } from './errors.js';
export type { RecordSource } from './evidence/record.js';
export type { RequestEvent, RequestReceipt, RequestView } from './evidence/request-fold.js';
export type { OpenRequest, Requests, UpdateRequest } from './evidence/requests.js';
export type { KeyStore, PeerIdentity } from './key-store/key-store.js';
export { MemoryKeyStore } from './key-store/memory-key-store.js';
export type { RoomChangeEvent, RoomMessage, RoomView } from './rooms/room-message.js';
export type { Rooms } from './rooms/rooms.js';
export {
  acceptPeerIdentity,
  checkPeerIdentity,
  markPeerVerified,
  type PeerIdentityStatus,
} from './trust/identities.js';
export {
  certifyDevice,
  createNetworkRoot,
  designateContactPoint,
  issueAuthorityCertificate,
  issueNetworkManifest,
  registerWebhook,
  revoke,
} from './trust/issue.js';
export { PEER_CACHE_LIMITS, type VerifiedEntry } from './trust/peer-directory.js';
export { readStatement, type Statement } from './trust/statement.js';
export {
  checkContactPoint,
  checkDevice,
  type TrustAnchors,
  trustError,
  verifiedContactPoint,
  verifiedDevice,
  verifiedEscalationChain,
} from './trust/verify.js';
