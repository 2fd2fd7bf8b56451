import type { Attachment, HandlingCode, RoomChange, RoomRole } from '@liaison/protocol';
import type { VerifiedSender } from '../client/receiver.js';

/** A room as the application shows it: everything from the verified history. */
export interface RoomView {
  roomId: string;
  title: string;
  caseReference?: string;
  /** In the order they joined. */
  members: { contactPointId: string; role: RoomRole }[];
  /** This contact point's role, or undefined once it left or was removed. */
  role?: RoomRole;
  createdBy: string;
  createdAt: number;
  /**
   * False while this device knows it lacks part of the history (a change that did not reach it, a
   * statement or message naming one it does not have, or a room it has only heard of): it has asked
   * a member for it, and messages that need it wait. While what it lacks was named by an admin,
   * sending to the room and changing it are refused (`UNAVAILABLE`): the missing part may be a removal.
   */
  complete: boolean;
}

/** A message written to a room, as received: everything but `relay` from inside the encryption or from certificates. */
export interface RoomMessage {
  messageId: string;
  roomId: string;
  /** `outgoing`: what another device of this contact point sent to the room. */
  direction: 'incoming' | 'outgoing';
  sender: VerifiedSender;
  text: string;
  subject?: string;
  reference?: string;
  language?: string;
  handling?: HandlingCode[];
  attachments?: Attachment[];
  /** The sender's clock when it sent the message. */
  sentAt: number;
  /** The latest changes the sender had seen: it was written to the room as they left it. */
  heads: string[];
  relay: { serverTime: number };
}

/** A change of a room's membership or title that took effect here. */
export interface RoomChangeEvent {
  room: RoomView;
  /** The admin (or, for `leave`, the member) who made it. */
  by: string;
  change: RoomChange;
  /** The author's clock when it signed the change. */
  at: number;
}
