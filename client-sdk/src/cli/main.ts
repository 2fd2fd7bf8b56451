import { parseArgs } from 'node:util';
import { ready } from '../crypto/sodium.js';
import { CliError } from './cli-error.js';
import type { CommandContext, Options } from './command-context.js';
import * as commands from './commands.js';
import { networkManifest, networkManifestVerify, relayKey } from './federation.js';
import { revocationPublish } from './publish.js';
import { recordVerify } from './record.js';

const USAGE = `liaison — the admin tool for Liaison networks, authorities, contact points and devices

  liaison network init         --id ID --name NAME --out NAME
  liaison key new              --out NAME
  liaison authority issue      --root NAME.root.json --root-key NAME.key --id ID --country CC --name NAME
                               --public-key AUTHORITY.pub --out FILE [--days 730]
  liaison contact designate    --authority-cert FILE --authority-key FILE --id ID --name NAME --role ROLE
                               --languages en,fr --competences mla,extradition --time-zone Area/City
                               --account-key ACCOUNT.pub --out FILE [--kind person|duty-desk]
                               [--escalation ID,ID] [--days 365]
  liaison device new           --out NAME
  liaison device certify       --contact-cert FILE --account-key ACCOUNT.key --device-key DEVICE.pub
                               --name NAME --out FILE [--days 365] [--sessions hybrid|classical]
                               (classical: only for an agency tool whose SDK predates hybrid sessions)
  liaison revoke               --issuer-key FILE --network ID --subject authority|contact-point|device
                               --id ID --out FILE [--reason key-compromise|superseded|left-post|other]
  liaison revocation publish   --relay URL[,URL] --revocation FILE
                               [--authority-cert FILE] [--contact-cert FILE]   (the issuer's, for a
                               subject none of whose devices has registered at that relay yet)
  liaison verify               --roots FILE[,FILE] --authority FILE --contact FILE [--device FILE]
                               [--revocations FILE,FILE]

Federation (relays of partner networks deliver to each other):
  liaison relay key            --out FILE
                               (a relay's signing key, secret: the relay reads it from LIAISON_RELAY_KEY;
                               prints the public key to name in the manifest)
  liaison network manifest     --root NAME.root.json --root-key NAME.key --version N
                               --relay ORIGIN=PUBLICKEY [--relay ...] --authorities ID,ID
                               [--partner NETWORK-ID=ROOT-PUBLICKEY ...] [--partner-root FILE.root.json ...]
                               --out FILE
                               (the root names its relays, the authority ids its contact point ids begin
                               with, and its partner networks; --relay and the partner options repeat)
  liaison network manifest verify FILE --root NAME.root.json [--partner-manifest FILE ...]
                               (what the manifest says, and whether each partnership is mutual)

Evidence (docs/evidence.md):
  liaison record verify FILE   --roots FILE[,FILE] [--revocations FILE,FILE] [--html OUT]
                               (checks a case record offline, says what it establishes or where it
                               fails; --html writes the same for people once it verifies)

Private keys and device key stores are written encrypted, mode 0600. The passphrase comes from
--passphrase-file FILE, else the LIAISON_PASSPHRASE variable, else the terminal. Nothing is ever
overwritten. Exit codes: 0 done, 1 refused or failed, 2 not a valid command line.`;

interface Command {
  run: (ctx: CommandContext) => Promise<unknown>;
  /** The options it takes; any other is refused by name, so a mistyped one is not silently ignored. */
  options: readonly string[];
  /** Those it takes more than once; any other given twice is refused, rather than one of the two ignored. */
  repeatable?: readonly string[];
  /** The one argument it takes after its words, as a refusal names it when missing. */
  argument?: string;
}

// Commands that open or make a private key also take --passphrase-file.
const KEYED = 'passphrase-file';

const COMMANDS: Record<string, Command> = {
  'network init': { run: commands.networkInit, options: ['id', 'name', 'out', KEYED] },
  'key new': { run: commands.keyNew, options: ['out', KEYED] },
  'authority issue': {
    run: commands.authorityIssue,
    options: ['root', 'root-key', 'id', 'country', 'name', 'public-key', 'out', 'days', KEYED],
  },
  'contact designate': {
    run: commands.contactDesignate,
    options: [
      'authority-cert',
      'authority-key',
      'id',
      'name',
      'role',
      'languages',
      'competences',
      'time-zone',
      'account-key',
      'out',
      'kind',
      'escalation',
      'days',
      KEYED,
    ],
  },
  'device new': { run: commands.deviceNew, options: ['out', KEYED] },
  'device certify': {
    run: commands.deviceCertify,
    options: ['contact-cert', 'account-key', 'device-key', 'name', 'out', 'days', 'sessions', KEYED],
  },
  revoke: { run: commands.revokeCommand, options: ['issuer-key', 'network', 'subject', 'id', 'reason', 'out', KEYED] },
  'revocation publish': {
    run: revocationPublish,
    options: ['relay', 'revocation', 'authority-cert', 'contact-cert'],
  },
  verify: { run: commands.verify, options: ['roots', 'authority', 'contact', 'device', 'revocations'] },
  'relay key': { run: relayKey, options: ['out'] },
  'network manifest': {
    run: networkManifest,
    options: ['root', 'root-key', 'version', 'relay', 'authorities', 'partner', 'partner-root', 'out', KEYED],
    repeatable: ['relay', 'partner', 'partner-root'],
  },
  'network manifest verify': {
    run: networkManifestVerify,
    options: ['root', 'partner-manifest'],
    repeatable: ['partner-manifest'],
    argument: 'the manifest FILE to verify',
  },
  'record verify': {
    run: recordVerify,
    options: ['roots', 'revocations', 'html'],
    argument: 'the case record FILE to verify',
  },
};

/** The most words a command has (`network manifest verify`). */
const COMMAND_WORDS = Math.max(...Object.keys(COMMANDS).map((name) => name.split(' ').length));

/** Every option any command takes, so that parsing knows which ones carry a value. */
const ALL_OPTIONS = Object.fromEntries(
  Object.values(COMMANDS)
    .flatMap((c) => c.options)
    .map((o) => [o, { type: 'string' as const, multiple: true }]),
);

/** A command line that cannot run: said on stderr, exit code 2. */
class UsageError extends Error {}

/** Runs one command line; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function run(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\nRun "liaison --help" for the commands and their options.`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (parsed === 'nothing') {
    console.error(USAGE);
    return 2;
  }
  const { command, options, argument } = parsed;
  await ready();
  try {
    const outcome = await command.run({
      options,
      argument,
      now: Date.now(),
      passphrase: { file: optionValue(options, KEYED), environment: environment.LIAISON_PASSPHRASE },
      print: (line) => console.log(line),
    });
    return outcome === false ? 1 : 0;
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`liaison: ${error.message}`);
      return 1;
    }
    // A file that cannot be read or written: Node's message names the file and the reason.
    if (error instanceof Error && typeof (error as NodeJS.ErrnoException).path === 'string') {
      console.error(`liaison: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/**
 * The command and its options. Parsing is lenient so that each mistake can be named: an unknown
 * command, an option this command does not take, an option without its value, a stray argument.
 */
function parse(
  argv: string[],
): { name: string; command: Command; options: Options; argument: string | undefined } | 'help' | 'nothing' {
  const { values, tokens } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: { ...ALL_OPTIONS, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) return 'help';
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind !== 'positional') break;
    words.push(token.value);
  }
  if (tokens.length === 0) return 'nothing';
  if (words.length === 0)
    throw new UsageError('liaison: a command line starts with the command, like "liaison key new --out NAME"');
  // The longest run of leading words that names a command: `network manifest verify`, `device certify`, `verify`.
  let length = Math.min(words.length, COMMAND_WORDS);
  while (length > 0 && !(words.slice(0, length).join(' ') in COMMANDS)) length--;
  if (length === 0) throw new UsageError(unknownCommand(words));
  const name = words.slice(0, length).join(' ');
  const command = COMMANDS[name] as Command;
  const rest = tokens.slice(length);
  let argument: string | undefined;
  for (const token of rest) {
    if (token.kind === 'positional') {
      if (command.argument === undefined || argument !== undefined) {
        throw new UsageError(`liaison ${name}: unexpected argument "${token.value}"`);
      }
      argument = token.value;
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    if (!command.options.includes(token.name)) {
      throw new UsageError(
        `liaison ${name}: unknown option ${token.rawName} (it takes ${command.options.map((o) => `--${o}`).join(', ')})`,
      );
    }
    if (token.value === undefined) throw new UsageError(`liaison ${name}: ${token.rawName} needs a value`);
  }
  if (command.argument !== undefined && argument === undefined) {
    throw new UsageError(`liaison ${name}: ${command.argument} is missing`);
  }
  return { name, command, options: singleValues(name, command, values), argument };
}

/** Every option is parsed as a list; one the command does not take more than once becomes its one value. */
function singleValues(name: string, command: Command, values: Record<string, unknown>): Options {
  const options: Options = {};
  for (const [option, value] of Object.entries(values)) {
    if (!Array.isArray(value) || command.repeatable?.includes(option)) {
      options[option] = value as Options[string];
      continue;
    }
    if (value.length > 1) throw new UsageError(`liaison ${name}: --${option} is given more than once`);
    options[option] = value[0] as string;
  }
  return options;
}

function unknownCommand(words: string[]): string {
  const said = `liaison: unknown command "${words.join(' ')}"`;
  const near = Object.keys(COMMANDS).filter((c) => c.startsWith(`${words[0]} `));
  return near.length > 0 ? `${said}; did you mean ${near.map((c) => `liaison ${c}`).join(' or ')}?` : said;
}

function optionValue(options: Options, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

process.exitCode = await run(process.argv.slice(2), process.env);
