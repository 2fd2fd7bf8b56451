import type { CertificateChain } from '@liaison/protocol';
import {
  currentSignedPrekey,
  DEFAULT_PREKEY_POLICY,
  type PrekeyPolicy,
  refillOneTimePrekeys,
  rotateSignedPrekey,
} from '../crypto/prekeys.js';
import type { KeyStore } from '../key-store/key-store.js';
import type { RelayApi } from './relay-api.js';

/** This device's standing at the relay: registered once, its signed prekey rotated and one-time prekeys topped up. */
export class DeviceUpkeep {
  private readonly policy: PrekeyPolicy;

  constructor(
    private readonly store: KeyStore,
    private readonly api: Pick<RelayApi, 'register' | 'prekeyCount' | 'uploadPrekeys'>,
    private readonly chain: CertificateChain,
    private readonly now: () => number,
    policy: PrekeyPolicy | undefined,
  ) {
    this.policy = policy ?? DEFAULT_PREKEY_POLICY;
  }

  /** Registers the device with its first prekeys, unless the key store records that it was. */
  async ensureRegistered(): Promise<void> {
    const deviceId = this.chain.device.deviceId;
    if ((await this.store.getState('registered')) === deviceId) return;
    await rotateSignedPrekey(this.store, this.now(), this.policy);
    const oneTime = await refillOneTimePrekeys(this.store, 0, this.policy);
    await this.api.register(this.chain, await currentSignedPrekey(this.store), oneTime);
    await this.store.setState('registered', deviceId);
  }

  /** Rotates the signed prekey when due and refills the one-time prekeys the relay runs low on. */
  async topUp(): Promise<void> {
    const signedPrekey = await rotateSignedPrekey(this.store, this.now(), this.policy);
    const count = await this.api.prekeyCount();
    const oneTimePrekeys = await refillOneTimePrekeys(this.store, count.oneTimePrekeys, this.policy);
    if (signedPrekey || oneTimePrekeys.length > 0) {
      await this.api.uploadPrekeys({ ...(signedPrekey && { signedPrekey }), oneTimePrekeys });
    }
  }
}
