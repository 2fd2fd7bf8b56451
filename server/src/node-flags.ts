/**
 * The options Node runs the relay with, wherever it is started: `npm start`, the image's CMD, and
 * the tests' and benches' relay processes (node-flags.test.ts and test/image.test.ts check that
 * each says the same). Node refuses `--initial-old-space-size` in NODE_OPTIONS, so they are given
 * on the command line; a relay started without them says so in its log (main.ts).
 *
 * `--initial-old-space-size=128`: V8 counts the Buffers allocated since its last full collection
 * as old-generation use, even those a young collection frees soon after. A relay moving 4 MiB
 * attachment chunks thus reached the limit V8 sets for a small heap (its heap plus about 24 MB)
 * every chunk or two and ran a full collection each time: 30–70 of them for 256 MB each way. With
 * a first limit of 128 MB, which V8 then keeps as the least it collects below, there were 6–10,
 * and the relay's CPU per GB of attachments fell by about half (docs/performance.md). The heap may
 * hold that much garbage between collections; the relay's memory when idle does not change. V8
 * takes at most half the old generation's maximum (`--max-old-space-size`) as this first limit.
 */
export const RELAY_NODE_FLAGS: readonly string[] = ['--enable-source-maps', '--initial-old-space-size=128'];

/** The relay's options missing from `execArgv` (how this process was started). */
export function missingNodeFlags(execArgv: readonly string[]): string[] {
  return RELAY_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
