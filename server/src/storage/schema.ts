import type {
  AuthorityCertificate,
  Availability,
  ContactPointCertificate,
  DeviceCertificate,
  DirectoryEntry,
  Revocation,
  UrgentState,
  WebhookAlert,
} from '@liaison/protocol';
import type { Generated, JSONColumnType, Kysely, Transaction } from 'kysely';

/** What storage functions take: the database, or a transaction the caller runs them in. */
export type Db = Kysely<Database> | Transaction<Database>;

/**
 * The relay's tables. Times are milliseconds since the epoch (bigint columns, read as numbers by
 * the dialects' settings in database.ts). Nothing here can be decrypted by the relay.
 */
export interface Database {
  contact_points: ContactPointsTable;
  devices: DevicesTable;
  signed_prekeys: SignedPrekeysTable;
  one_time_prekeys: OneTimePrekeysTable;
  one_time_kem_prekeys: KemPrekeysTable;
  last_resort_kem_prekeys: KemPrekeysTable;
  messages: MessagesTable;
  message_recipients: MessageRecipientsTable;
  envelopes: EnvelopesTable;
  receipts: ReceiptsTable;
  revocations: RevocationsTable;
  urgent_messages: UrgentMessagesTable;
  urgent_levels: UrgentLevelsTable;
  webhooks: WebhooksTable;
  webhook_alerts: WebhookAlertsTable;
  blobs: BlobsTable;
  blob_readers: BlobReadersTable;
  blob_chunks: BlobChunksTable;
  relay_keys: RelayKeysTable;
  foreign_contact_points: ForeignContactPointsTable;
  foreign_devices: ForeignDevicesTable;
  federation_outbox: FederationOutboxTable;
  federation_peers: FederationPeersTable;
  federation_receipts_seen: FederationReceiptsSeenTable;
  foreign_urgent_states: ForeignUrgentStatesTable;
  message_forwards: MessageForwardsTable;
  federation_nonces: FederationNoncesTable;
}

export interface ContactPointsTable {
  contact_point_id: string;
  network_id: string;
  authority_id: string;
  country: string;
  display_name: string;
  kind: string;
  languages: string[];
  competences: string[];
  account_key: string;
  authority_certificate: JSONColumnType<AuthorityCertificate>;
  certificate: JSONColumnType<ContactPointCertificate>;
  availability: JSONColumnType<Availability>;
  not_after: number;
  updated_at: number;
}

export interface DevicesTable {
  device_id: string;
  contact_point_id: string;
  certificate: JSONColumnType<DeviceCertificate>;
  not_after: number;
  registered_at: number;
}

export interface SignedPrekeysTable {
  device_id: string;
  prekey_id: number;
  public_key: string;
  created_at: number;
  signature: string;
}

export interface OneTimePrekeysTable {
  device_id: string;
  prekey_id: number;
  public_key: string;
}

/**
 * A signed ML-KEM-768 prekey: in one_time_kem_prekeys (many per device, each handed out once) or
 * last_resort_kem_prekeys (one per device). Which table a row is in is its `lastResort`, which the
 * signature covers.
 */
export interface KemPrekeysTable {
  device_id: string;
  prekey_id: number;
  /** 1,184 bytes, base64url. */
  public_key: string;
  created_at: number;
  signature: string;
}

/** One row per message: who sent it to whom, for idempotent retries and for routing receipts. */
export interface MessagesTable {
  message_id: string;
  sender_device: string;
  sender_contact_point: string;
  /** Null for a message to several contact points, listed in message_recipients. */
  recipient_contact_point: string | null;
  priority: string;
  created_at: number;
  server_time: number;
  deadline: number | null;
  /** The partner network whose relay forwarded it; null for a message sent here. */
  origin_network: Generated<string | null>;
}

/** The recipients of a message to several contact points, one row each. */
export interface MessageRecipientsTable {
  message_id: string;
  contact_point_id: string;
}

/** One row per device copy, deleted as soon as that device acknowledges it. */
export interface EnvelopesTable {
  seq: Generated<number>;
  message_id: string;
  recipient_device: string;
  kind: string;
  ciphertext: Uint8Array;
  escalation_level: number;
  expires_at: number;
  /** A copy for an escalation level not yet released: never pushed. */
  held: Generated<boolean>;
  /** Urgent only: the deadline of this copy's level, set when the level is released. */
  deadline: number | null;
}

export interface ReceiptsTable {
  receipt_id: Generated<number>;
  message_id: string;
  /** The sender, whose devices the receipt is for. */
  sender_contact_point: string;
  /** Who the receipt is about. */
  contact_point_id: string;
  device_id: string | null;
  status: string;
  at: number;
}

export interface RevocationsTable {
  network_id: string;
  subject: string;
  subject_id: string;
  issuer_key: string;
  statement: JSONColumnType<Revocation>;
  received_at: number;
}

/** The durable state and timer of an urgent message. */
export interface UrgentMessagesTable {
  message_id: string;
  sender_contact_point: string;
  status: string;
  level: number;
  acknowledge_within_ms: number;
  /** When the current level's time runs out; null once acknowledged or exhausted. */
  next_step_at: number | null;
  acknowledged_contact_point: string | null;
  acknowledged_device: string | null;
  acknowledged_at: number | null;
  updated_at: number;
}

/** Level 0 is the recipient, then the escalation chain in order, fixed when the message is sent. */
export interface UrgentLevelsTable {
  message_id: string;
  level: number;
  contact_point_id: string;
  devices: number;
  released_at: number | null;
  deadline: number | null;
}

export interface WebhooksTable {
  network_id: string;
  authority_id: string;
  /** Null: the authority unregistered its webhook (the row keeps issued_at against replays). */
  url: string | null;
  secret: Uint8Array;
  issued_at: number;
}

/** Outbox and delivery log of webhook alerts. */
export interface WebhookAlertsTable {
  alert_id: Generated<number>;
  network_id: string;
  authority_id: string;
  payload: JSONColumnType<Omit<WebhookAlert, 'alertId'>>;
  /** pending | delivered | failed */
  status: string;
  attempts: Generated<number>;
  next_attempt_at: number | null;
  /** HTTP status or network error of the last attempt. */
  last_result: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** An encrypted attachment: its size and upload progress. The relay cannot read its chunks. */
export interface BlobsTable {
  blob_id: string;
  message_id: string;
  uploader_device: string;
  size: number;
  chunks: number;
  /** Chunks 0 .. stored_chunks-1 are stored. */
  stored_chunks: Generated<number>;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  expires_at: number;
}

/** A device the sender allowed to read a blob; the blob goes once every reader has downloaded it. */
export interface BlobReadersTable {
  blob_id: string;
  device_id: string;
  downloaded_at: number | null;
}

/** Chunks, when blobs are kept in the database (a cluster). */
export interface BlobChunksTable {
  blob_id: string;
  chunk_index: number;
  bytes: Uint8Array;
}

/** Keys the relay made for itself: the key of the keyed hash under which bearer tokens are kept in the ephemeral store. */
export interface RelayKeysTable {
  name: string;
  key: Uint8Array;
  created_at: number;
}

/** A contact point of a partner network, as its relay last showed it (verified to that network's root). */
export interface ForeignContactPointsTable {
  contact_point_id: string;
  network_id: string;
  entry: JSONColumnType<DirectoryEntry>;
  fetched_at: number;
}

/** The current devices of the foreign contact points above. */
export interface ForeignDevicesTable {
  device_id: string;
  contact_point_id: string;
  network_id: string;
}

/** What goes to a partner relay, in `seq` order: messages (payload: the forwarded message), receipts, urgent states. */
export interface FederationOutboxTable {
  seq: Generated<number>;
  network_id: string;
  kind: 'message' | 'receipt' | 'urgent';
  message_id: string | null;
  payload: JSONColumnType<object> | null;
  created_at: number;
  /** The payload's size as text, computed by the database when the row is written. */
  bytes: Generated<number>;
}

/** Each partner's forwarding state: which node holds its outbox until when, and the backoff after failures. */
export interface FederationPeersTable {
  network_id: string;
  lease_until: Generated<number>;
  lease_owner: string | null;
  lease_token: Generated<number>;
  failures: Generated<number>;
  next_attempt_at: Generated<number>;
}

export interface FederationReceiptsSeenTable {
  network_id: string;
  remote_id: number;
  at: number;
}

export interface ForeignUrgentStatesTable {
  message_id: string;
  state: JSONColumnType<UrgentState>;
  updated_at: number;
}

/** The partner networks a message was forwarded to: the only relays that may report on it. */
export interface MessageForwardsTable {
  message_id: string;
  network_id: string;
  /** The message's recipients in that network: those its relay may report on (and, urgent, their escalation). */
  recipients: string[];
}

/** Nonces of signed requests from partner relays, kept until such a request would be refused as stale anyway. */
export interface FederationNoncesTable {
  key_id: string;
  nonce: string;
  expires_at: number;
}
