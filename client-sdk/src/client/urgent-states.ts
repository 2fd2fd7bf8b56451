import { UrgentState } from '@liaison/protocol';
import { BoundedMap } from '../bounded-map.js';
import { LiaisonError } from '../errors.js';
import type { RelayApi } from './relay-api.js';

/** Urgent messages whose latest state is remembered; the least recently changed are forgotten first. */
const REMEMBERED_STATES = 10_000;

/**
 * The latest state of each urgent message this contact point sent or holds, as the relay reports
 * it (its word, as metadata always is): each change shown once, in order, and those still
 * escalating read again after a reconnection, since they may have moved meanwhile.
 */
export class UrgentStates {
  private readonly latest = new BoundedMap<string, UrgentState>(REMEMBERED_STATES);

  constructor(
    private readonly api: Pick<RelayApi, 'urgent'>,
    private readonly show: (state: UrgentState) => Promise<void>,
    private readonly report: (error: unknown) => Promise<void>,
  ) {}

  /** A state the relay pushed; a malformed one is reported, not shown. */
  async pushed(state: unknown): Promise<void> {
    const parsed = UrgentState.safeParse(state);
    if (!parsed.success)
      return this.report(new LiaisonError('INVALID_MESSAGE', 'the relay sent a malformed urgent state'));
    const known = this.latest.get(parsed.data.messageId);
    // Older than what is known (pushes and fetches can cross), or nothing new: not shown again.
    if (known && (known.updatedAt > parsed.data.updatedAt || JSON.stringify(known) === JSON.stringify(parsed.data)))
      return;
    this.latest.set(parsed.data.messageId, parsed.data);
    await this.show(parsed.data);
  }

  /** The relay's current state of one message, remembered as the latest. */
  async read(messageId: string): Promise<UrgentState> {
    const state = await this.api.urgent(messageId);
    if (state.messageId !== messageId)
      throw new LiaisonError('INVALID_MESSAGE', 'the relay answered for another message');
    this.latest.set(messageId, state);
    return state;
  }

  /** After a reconnection: the messages still escalating may have moved while this device was away. */
  async refresh(): Promise<void> {
    for (const [messageId, known] of this.latest.snapshot()) {
      if (known.status !== 'escalating') continue;
      const state = await this.api.urgent(messageId);
      if (state.messageId === messageId) await this.pushed(state);
    }
  }
}
