import type {
  AuthorityCertificate,
  Availability,
  ContactPointCertificate,
  DeviceCertificate,
  Revocation,
} from '@liaison/protocol';
import type { Generated, JSONColumnType } from 'kysely';

/**
 * The relay's tables. Times are milliseconds since the epoch (bigint columns, read as numbers by
 * the dialects' settings in database.ts). Nothing here can be decrypted by the relay.
 */
export interface Database {
  contact_points: ContactPointsTable;
  devices: DevicesTable;
  signed_prekeys: SignedPrekeysTable;
  one_time_prekeys: OneTimePrekeysTable;
  messages: MessagesTable;
  envelopes: EnvelopesTable;
  receipts: ReceiptsTable;
  revocations: RevocationsTable;
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

/** One row per message: who sent it to whom, for idempotent retries and for routing receipts. */
export interface MessagesTable {
  message_id: string;
  sender_device: string;
  sender_contact_point: string;
  recipient_contact_point: string;
  priority: string;
  created_at: number;
  server_time: number;
  deadline: number | null;
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
