import {
  type CertificateChain,
  checkRevocation,
  encodeKemPrekey,
  encodeSignedPrekey,
  encodeWebhookRegistration,
  type KemPrekey,
  LIMITS,
  NetworkManifest,
  type Revocation,
  type RevocationSubmission,
  type SignedPrekey,
  type TrustContext,
  verifyAuthority,
  verifyContactPoint,
  type WebhookRegistration,
} from '@liaison/protocol';
import { RelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { signedBy, verifySignature } from '../sodium.js';
import {
  applyRevocation,
  authorityCertificate,
  currentDevicesOf,
  directoryEntry,
  registerDevice,
  searchDirectory,
  setAvailability,
  storedIssuerKey,
} from '../storage/directory.js';
import { foreignUrgentState } from '../storage/foreign.js';
import { receiptsFor } from '../storage/messages.js';
import { fetchBundles, prekeyCount, uploadPrekeys } from '../storage/prekeys.js';
import { urgentStates } from '../storage/urgent.js';
import { saveWebhook } from '../storage/webhooks.js';
import { BLOB_HANDLERS } from './blob-routes.js';
import { me, type RouteLimit, routeTable } from './route.js';

const authLimit: RouteLimit = (config) => ({ name: 'auth', perMinute: config.authAttemptsPerMinute });

function checkSignedPrekey(deviceId: string, prekey: SignedPrekey): void {
  const { signature, ...body } = prekey;
  if (!signedBy(deviceId, encodeSignedPrekey(body), signature)) {
    throw new RelayError('BAD_SIGNATURE', 'the signed prekey is not signed by the device key');
  }
}

/**
 * Each KEM prekey must be signed by the device key over its canonical encoding, which names the key
 * type and whether it is the last-resort one: checked before anything is stored, so that one bad
 * signature refuses the whole request.
 */
function checkKemPrekeys(deviceId: string, prekeys: readonly KemPrekey[] | undefined): void {
  for (const [i, prekey] of (prekeys ?? []).entries()) {
    const { signature, ...body } = prekey;
    if (!signedBy(deviceId, encodeKemPrekey(body), signature)) {
      throw new RelayError('BAD_SIGNATURE', `KEM prekey ${prekey.id} is not signed by the device key`, {
        path: `kemPrekeys.${i}.signature`,
      });
    }
  }
}

/** Every HTTP endpoint of the protocol with its handler: the authorization and fuzz suites enumerate this table. */
export const ROUTES = routeTable({
  authChallenge: {
    limit: authLimit,
    handle: async ({ input, addressedOrigin, deps }) =>
      deps.auth.issueChallenge(input.deviceId, input.purpose, addressedOrigin),
  },
  authToken: {
    limit: authLimit,
    handle: async ({ input, deps }) => deps.auth.mintToken(await deps.auth.authenticate(input, 'token')),
  },
  registerDevice: {
    limit: authLimit,
    handle: async ({ input, deps }) => {
      const chain: CertificateChain = input.chain;
      if (input.proof.deviceId !== chain.device.deviceId) {
        throw new RelayError('FORBIDDEN', 'the proof is not by the device being registered');
      }
      await deps.auth.verifyProof(input.proof, 'register');
      await deps.auth.verifyChain(chain);
      const partners = deps.federation?.partners;
      if (partners?.get(chain.authority.networkId)) {
        throw new RelayError(
          'FORBIDDEN',
          `contact points of "${chain.authority.networkId}" register on their own network's relay, which federates with this one`,
        );
      }
      // Federated, our manifest says which authorities are ours: partners route only their ids here.
      if (partners && chain.authority.networkId === partners.network && !partners.owns(partners.network, chain)) {
        throw new RelayError(
          'FORBIDDEN',
          `authority "${chain.authority.authorityId}" is not in the manifest of "${partners.network}", or the contact point id does not begin with it: the secretariat adds it to the manifest first`,
        );
      }
      const now = deps.config.now();
      checkSignedPrekey(chain.device.deviceId, input.signedPrekey);
      checkKemPrekeys(chain.device.deviceId, input.kemPrekeys);
      await registerDevice(
        deps.db,
        chain,
        { signedPrekey: input.signedPrekey, oneTimePrekeys: input.oneTimePrekeys, kemPrekeys: input.kemPrekeys },
        now,
      );
      deps.log.info(
        { event: 'device.registered', contactPointId: chain.contactPoint.contactPointId },
        'device registered',
      );
      return { deviceId: chain.device.deviceId, contactPointId: chain.contactPoint.contactPointId, registeredAt: now };
    },
  },
  uploadPrekeys: {
    handle: async (ctx) => {
      if (ctx.input.signedPrekey) checkSignedPrekey(me(ctx).deviceId, ctx.input.signedPrekey);
      checkKemPrekeys(me(ctx).deviceId, ctx.input.kemPrekeys);
      return uploadPrekeys(ctx.deps.db, me(ctx).deviceId, ctx.input);
    },
  },
  prekeyCount: {
    handle: (ctx) => prekeyCount(ctx.deps.db, me(ctx).deviceId),
  },
  bundles: {
    handle: async (ctx) => {
      await ctx.deps.limits.take(`bundles:${me(ctx).deviceId}`, ctx.deps.config.bundleFetchesPerMinute);
      const { contactPointId } = ctx.params;
      const foreign = await foreignBundles(ctx.deps, contactPointId, me(ctx).deviceId);
      if (foreign) return foreign;
      const { response, low } = await fetchBundles(
        ctx.deps.db,
        contactPointId,
        me(ctx).deviceId,
        ctx.deps.config.now(),
      );
      // A device whose one-time prekeys (of either kind) run low is told, so that it uploads more while online.
      for (const { deviceId, count } of low) ctx.deps.hub.prekeysLow(deviceId, count);
      return response;
    },
  },
  contactPoint: {
    handle: async (ctx) => {
      const { contactPointId } = ctx.params;
      const local = await directoryEntry(ctx.deps.db, contactPointId, ctx.deps.config.now());
      // One not here is asked of every partner relay: counted as a directory search.
      if (!local && ctx.deps.federation) {
        await ctx.deps.limits.take(`directory:${me(ctx).deviceId}`, ctx.deps.config.directorySearchesPerMinute);
      }
      const entry = local ?? (await ctx.deps.federation?.directory.entry(contactPointId))?.entry;
      if (!entry) throw new RelayError('NOT_FOUND', `no contact point "${contactPointId}"`);
      return entry;
    },
  },
  directory: {
    limit: (config) => ({ name: 'directory', perMinute: config.directorySearchesPerMinute }),
    handle: async (ctx) => {
      const local = await searchDirectory(ctx.deps.db, ctx.input, ctx.deps.config.now());
      return ctx.deps.federation ? ctx.deps.federation.directory.search(ctx.input, local) : local;
    },
  },
  setAvailability: {
    handle: async (ctx) => {
      await setAvailability(ctx.deps.db, me(ctx).contactPointId, ctx.input);
      return ctx.input;
    },
  },
  receipts: {
    handle: async (ctx) => {
      const { receipts, lastId } = await receiptsFor(
        ctx.deps.db,
        me(ctx).contactPointId,
        ctx.input.after ?? 0,
        LIMITS.maxDirectoryPage,
      );
      return { receipts, cursor: lastId };
    },
  },
  urgent: {
    handle: async (ctx) => {
      // One of ours escalating on a partner's relay: the state it last reported.
      const [state = await foreignUrgentState(ctx.deps.db, ctx.params.messageId)] = await urgentStates(ctx.deps.db, [
        ctx.params.messageId,
      ]);
      const mine = me(ctx).contactPointId;
      const concerned =
        state?.senderContactPoint === mine || state?.levels.some((l) => l.releasedAt && l.contactPointId === mine);
      // Someone the message has not reached learns nothing, not even that it exists.
      if (!state || !concerned) throw new RelayError('NOT_FOUND', 'no urgent message with this id concerns you');
      return state;
    },
  },
  registerWebhook: {
    limit: authLimit,
    handle: async ({ input, deps }) => {
      await checkWebhookRegistration(deps, input);
      await saveWebhook(deps.db, input);
      deps.log.info(
        { event: 'webhook.registered', authorityId: input.authorityId, removed: input.url === undefined },
        'webhook registration saved',
      );
      return { saved: true };
    },
  },
  ...BLOB_HANDLERS,
  networkManifest: {
    // Open to anyone, like the other unauthenticated routes: counted per address with them.
    limit: authLimit,
    handle: async ({ deps }) => {
      const manifest = deps.federation?.partners.manifest;
      if (!manifest) {
        throw new RelayError(
          'NOT_FOUND',
          'this relay has no relay key and manifest of its network, so it signs no "stored at" receipts',
        );
      }
      // Read with its schema at start; checked again as it goes out, since clients keep it as evidence
      // (a manifest that no longer fits is the relay's fault: INTERNAL, not the caller's INVALID_INPUT).
      const served = NetworkManifest.safeParse(manifest);
      if (!served.success) throw new Error('our network manifest does not fit its schema');
      return served.data;
    },
  },
  revoke: {
    // Open to anyone, and each one costs a lookup: counted per address like the other open routes.
    limit: authLimit,
    handle: async ({ input, deps }) => {
      const revocation = 'revocation' in input ? input.revocation : input;
      await checkRevocationIssuer(deps, revocation, 'issuer' in input ? input.issuer : undefined);
      const removed = await applyRevocation(deps.db, revocation, deps.config.now());
      deps.hub.disconnect(removed, 'this device was revoked');
      deps.log.info(
        { event: 'revocation.applied', subject: revocation.subject, devices: removed.length },
        'revocation applied',
      );
      return { applied: true };
    },
  },
});

/**
 * A revocation is accepted only from the issuer right above its subject, with a valid signature:
 * anyone may deliver one (it is a public statement), nobody can forge one. For a subject the relay
 * does not know yet, the issuer's certificates must come with it (see RevocationSubmission).
 */
async function checkRevocationIssuer(
  deps: RelayDeps,
  revocation: Revocation,
  issuer: Extract<RevocationSubmission, { issuer: unknown }>['issuer'] | undefined,
): Promise<void> {
  let issuerKey =
    revocation.subject === 'authority'
      ? deps.config.trustedRoots.find(
          (r) => r.networkId === revocation.networkId && r.publicKey === revocation.issuerKey,
        )?.publicKey
      : await storedIssuerKey(deps.db, revocation);
  issuerKey ??= issuer && certifiedIssuerKey(deps, revocation, issuer);
  if (!issuerKey)
    throw new RelayError(
      'NOT_FOUND',
      `no ${revocation.subject} "${revocation.subjectId}" known in "${revocation.networkId}"; for a subject not registered here, send the issuer's certificates with the revocation`,
    );
  const check = checkRevocation(revocation, [issuerKey], { verifySignature });
  if (check === 'other-issuer') throw new RelayError('FORBIDDEN', 'only the issuer above the subject may revoke it');
  if (check === 'bad-signature') throw new RelayError('BAD_SIGNATURE', 'the revocation is not signed by its issuer');
}

/**
 * The issuer's key as its own certificates establish it, for a subject this relay has not seen:
 * an authority of a trusted network for a contact point, a designation for a device. Which subject
 * the issuer stands above is not knowable here; a revocation by another issuer is simply never
 * applied, since chains count only revocations by the issuer right above their subject.
 */
function certifiedIssuerKey(
  deps: RelayDeps,
  revocation: Revocation,
  issuer: NonNullable<Parameters<typeof checkRevocationIssuer>[2]>,
): string {
  const ctx: TrustContext = {
    trustedRoots: deps.config.trustedRoots,
    revocations: [],
    now: deps.config.now(),
    verifySignature,
  };
  if (revocation.subject === 'authority' || issuer.authority.networkId !== revocation.networkId) {
    throw new RelayError('CHAIN_MISMATCH', "the issuer's certificates are not of this revocation's network and kind");
  }
  if (revocation.subject === 'contact-point') {
    const verdict = verifyAuthority(issuer.authority, ctx);
    if (!verdict.ok) throw new RelayError(verdict.code, verdict.message);
    return issuer.authority.publicKey;
  }
  if (!issuer.contactPoint) {
    throw new RelayError(
      'INVALID_INPUT',
      "a device's revocation comes with its designation and its authority's certificate",
      {
        path: 'issuer.contactPoint',
      },
    );
  }
  const verdict = verifyContactPoint({ authority: issuer.authority, contactPoint: issuer.contactPoint }, ctx);
  if (!verdict.ok) throw new RelayError(verdict.code, verdict.message);
  return issuer.contactPoint.accountKey;
}

/**
 * A webhook registration must be signed by the authority's key as the relay knows it (from the
 * designations of its contact points), be recent, and name an https URL.
 */
async function checkWebhookRegistration(deps: RelayDeps, registration: WebhookRegistration): Promise<void> {
  const now = deps.config.now();
  if (registration.url !== undefined) {
    const { protocol } = new URL(registration.url);
    if (protocol !== 'https:' && !(protocol === 'http:' && deps.config.allowHttpWebhooks)) {
      throw new RelayError('INVALID_INPUT', 'a webhook URL must use https', { path: 'url' });
    }
  }
  if (Math.abs(registration.issuedAt - now) > LIMITS.maxClockSkewMs) {
    throw new RelayError('EXPIRED', 'the registration was not issued within the last few minutes');
  }
  const authority = await authorityCertificate(deps.db, registration.networkId, registration.authorityId);
  if (!authority || authority.notAfter <= now) {
    throw new RelayError(
      'NOT_FOUND',
      `no current authority "${registration.authorityId}" known in "${registration.networkId}"`,
    );
  }
  const { signature, ...body } = registration;
  if (!signedBy(authority.publicKey, encodeWebhookRegistration(body), signature)) {
    throw new RelayError('BAD_SIGNATURE', "the registration is not signed by the authority's key");
  }
}

/**
 * The bundles of a contact point of a partner network, through its relay (undefined for one of
 * ours, or when this relay does not federate). Ours are looked for first: an id registered here is
 * never another network's.
 */
async function foreignBundles(deps: RelayDeps, contactPointId: string, requester: string) {
  if (!deps.federation) return undefined;
  if ((await currentDevicesOf(deps.db, [contactPointId], deps.config.now())).has(contactPointId)) return undefined;
  return deps.federation.directory.bundles(contactPointId, requester);
}
