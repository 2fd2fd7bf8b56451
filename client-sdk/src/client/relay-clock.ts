/**
 * The relay's clock as this device estimates it. Deadlines and validity windows are the relay's
 * business (it releases escalation levels, it stamps deadlines), so the SDK reads them against the
 * relay's time, not the device's own clock, which may be minutes off.
 *
 * Each round trip that returns a relay timestamp is a sample: the relay's time is taken to be
 * the midpoint of the round trip (as NTP does). The sample with the shortest round trip among the
 * recent ones wins, since its midpoint has the smallest error.
 */
export class RelayClock {
  private samples: { offset: number; roundTrip: number }[] = [];

  constructor(private readonly local: () => number) {}

  /** A relay timestamp read from an answer to a request sent at `sentAt` and answered at `receivedAt` (local times). */
  sample(relayTime: number, sentAt: number, receivedAt: number): void {
    const roundTrip = Math.max(0, receivedAt - sentAt);
    this.samples.push({ offset: relayTime - (sentAt + roundTrip / 2), roundTrip });
    if (this.samples.length > RECENT_SAMPLES) this.samples.shift();
  }

  /** How far the relay's clock is ahead of this device's (negative: behind); 0 before any sample. */
  get offset(): number {
    let best: { offset: number; roundTrip: number } | undefined;
    for (const s of this.samples) if (!best || s.roundTrip <= best.roundTrip) best = s;
    return best?.offset ?? 0;
  }

  /** The relay's time now, as estimated here. */
  now(): number {
    return this.local() + this.offset;
  }
}

const RECENT_SAMPLES = 8;
