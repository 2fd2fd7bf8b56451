/**
 * Every size and count the relay and the SDK enforce. Both sides read them from here so a
 * client never builds something the server must refuse.
 */
export const LIMITS = {
  /** Ciphertext of one envelope. Large documents travel as encrypted attachments, not inline. */
  maxCiphertextBytes: 64 * 1024,
  /**
   * Envelopes in one send: every device of the recipient (or of each member of a room), of each
   * escalation level, and the sender's own.
   */
  maxEnvelopesPerSend: 400,
  /**
   * Ciphertext of one send, all envelopes together (as many bytes as 64 full envelopes): a room's
   * long text goes as an attachment, read by every member's devices from one upload.
   */
  maxSendCiphertextBytes: 64 * 64 * 1024,
  /** Upper bound of one socket.io frame, derived from the limit above (as base64url) plus framing. */
  maxSocketPayloadBytes: 6 * 1024 * 1024,
  /** Upper bound of one HTTP JSON body. */
  maxHttpBodyBytes: 256 * 1024,
  /** Devices one contact point may have registered at once. */
  maxDevicesPerContactPoint: 8,
  /** Members of an escalation chain (levels after level 0). */
  maxEscalationChain: 5,
  /**
   * Outer bounds of the time a level of an urgent message has to acknowledge it. Deployments set
   * narrower bounds of their own (the relay's configuration); these only keep the wire sane.
   */
  minAcknowledgeWithinMs: 1000,
  maxAcknowledgeWithinMs: 7 * 24 * 3600 * 1000,
  /** A webhook URL, in characters. */
  maxUrlLength: 2048,
  /** One-time prekeys in one upload, and held by the relay per device. */
  maxOneTimePrekeysPerUpload: 100,
  maxOneTimePrekeysStored: 200,
  /** Below this count the relay tells a device to upload more one-time prekeys. */
  oneTimePrekeyLowWatermark: 20,
  /**
   * The same for one-time ML-KEM-768 prekeys, fewer because each is 1,184 bytes (an upload of
   * 50 is about 90 KB of JSON, well inside maxHttpBodyBytes with a registration's other fields).
   */
  maxKemPrekeysPerUpload: 50,
  maxKemPrekeysStored: 100,
  kemPrekeyLowWatermark: 10,
  /** Acknowledgements in one `envelopes:ack`. */
  maxAcksPerBatch: 256,
  /**
   * Unacknowledged envelopes pushed to one device before the relay waits for acks; also the most
   * one `envelopes` event carries.
   */
  deliveryWindow: 100,
  /**
   * Ciphertext bytes in one `envelopes` event: as much as one send may carry, so that what the
   * relay pushes in a frame stays within what it would itself accept in one (maxSocketPayloadBytes).
   */
  maxPushedCiphertextBytes: 64 * 64 * 1024,
  /** Receipts in one `receipts` event: those one batch of acknowledgements made for one contact point, cut to this. */
  maxReceiptsPerEvent: 256,
  /**
   * How far a client clock may be from the server's before a timestamp is refused; also how long
   * before its start a certificate is already accepted (the issuer's clock may run ahead).
   */
  maxClockSkewMs: 5 * 60 * 1000,
  /** Lifetime of an authentication challenge. */
  challengeTtlMs: 60 * 1000,
  /** Directory results per page. */
  maxDirectoryPage: 100,
  /** Text fields of certificates and directory queries (in UTF-16 code units, as zod counts). */
  maxNameLength: 200,
  maxShortTextLength: 64,
  maxListItems: 16,
  /** Plaintext bytes per encrypted attachment chunk: what one upload or download request carries. */
  blobChunkPlaintextBytes: 4 * 1024 * 1024,
  /** Attachments in one message. */
  maxAttachmentsPerMessage: 16,
  /** Contact points in a case room, and so recipients of one send. */
  maxRoomMembers: 50,
  /** Latest statements one statement or message may name. */
  maxRoomHeads: 16,
  /** Statements in a room's history: it travels whole to a new member, inside one message. */
  maxRoomStatements: 100,
} as const;
