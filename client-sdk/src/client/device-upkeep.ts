import type { CertificateChain } from '@liaison/protocol';
import {
  currentLastResortKemPrekey,
  currentSignedPrekey,
  DEFAULT_PREKEY_POLICY,
  type PrekeyPolicy,
  refillKemPrekeys,
  refillOneTimePrekeys,
  rotateLastResortKemPrekey,
  rotateSignedPrekey,
} from '../crypto/prekeys.js';
import type { KeyStore } from '../key-store/key-store.js';
import type { RelayApi } from './relay-api.js';

/**
 * This device's standing at the relay: registered once, its signed prekey and last-resort KEM
 * prekey rotated, and both pools of one-time prekeys (X25519 and ML-KEM-768) topped up.
 */
export class DeviceUpkeep {
  private readonly policy: PrekeyPolicy;

  /** The top-up running, and the one queued behind it. */
  private running: Promise<void> | undefined;
  private again: Promise<void> | undefined;

  constructor(
    private readonly store: KeyStore,
    private readonly api: Pick<RelayApi, 'register' | 'prekeyCount' | 'uploadPrekeys'>,
    private readonly chain: CertificateChain,
    private readonly now: () => number,
    policy: PrekeyPolicy | undefined,
  ) {
    this.policy = policy ?? DEFAULT_PREKEY_POLICY;
  }

  /**
   * Registers the device with its first prekeys, unless the key store records that it was, with
   * this certificate: a device certified again (renewed, or now saying it speaks hybrid sessions)
   * registers again, so that the relay serves the new certificate.
   */
  async ensureRegistered(): Promise<void> {
    // The certificate's signature names it: any change to it is another signature.
    const registered = `${this.chain.device.deviceId} ${this.chain.device.signature}`;
    if ((await this.store.getState('registered')) === registered) return;
    const now = this.now();
    await rotateSignedPrekey(this.store, now, this.policy);
    const oneTime = await refillOneTimePrekeys(this.store, 0, this.policy);
    await rotateLastResortKemPrekey(this.store, now, this.policy);
    const kemPrekeys = [
      await currentLastResortKemPrekey(this.store),
      ...(await refillKemPrekeys(this.store, 0, now, this.policy)),
    ];
    await this.api.register(this.chain, await currentSignedPrekey(this.store), oneTime, kemPrekeys);
    await this.store.setState('registered', registered);
  }

  /**
   * Rotates the signed and last-resort KEM prekeys when due and refills the one-time prekeys the
   * relay runs low on. A relay that reports no last-resort KEM prekey, or another one than the
   * current (a device registered before hybrid sessions, a relay that lost it), gets the current one.
   */
  topUp(): Promise<void> {
    // One at a time: the relay says "low" at every bundle fetch below the mark, often many at once,
    // and two top-ups reading the same count would upload twice what fits (QUOTA_EXCEEDED). A
    // notice that comes while one runs gets one more run after it, which reads the count afresh.
    if (this.running) {
      this.again ??= this.running
        .catch(() => undefined)
        .then(() => {
          this.again = undefined;
          return this.topUp();
        });
      return this.again;
    }
    this.running = this.topUpOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async topUpOnce(): Promise<void> {
    const now = this.now();
    const signedPrekey = await rotateSignedPrekey(this.store, now, this.policy);
    const rotated = await rotateLastResortKemPrekey(this.store, now, this.policy);
    const count = await this.api.prekeyCount();
    const oneTimePrekeys = await refillOneTimePrekeys(this.store, count.oneTimePrekeys, this.policy);
    const lastResort = rotated ?? (await currentLastResortKemPrekey(this.store));
    const kemPrekeys = [
      ...(rotated || count.kem?.lastResortId !== lastResort.id ? [lastResort] : []),
      ...(await refillKemPrekeys(this.store, count.kem?.oneTimePrekeys ?? 0, now, this.policy)),
    ];
    if (signedPrekey || oneTimePrekeys.length > 0 || kemPrekeys.length > 0) {
      await this.api.uploadPrekeys({
        ...(signedPrekey && { signedPrekey }),
        oneTimePrekeys,
        ...(kemPrekeys.length > 0 && { kemPrekeys }),
      });
    }
  }
}
