import { parseArgs } from 'node:util';
import { ready } from '../crypto/sodium.js';
import { CliError } from './cli-error.js';
import * as commands from './commands.js';

const USAGE = `liaison — the admin tool for Liaison networks, authorities and contact points

  liaison network init      --id ID --name NAME --out NAME
  liaison key new           --out NAME
  liaison authority issue   --root NAME.root.json --root-key NAME.key --id ID --country CC --name NAME
                            --public-key AUTHORITY.pub --out FILE [--days 730]
  liaison contact designate --authority-cert FILE --authority-key FILE --id ID --name NAME --role ROLE
                            --languages en,fr --competences mla,extradition --time-zone Area/City
                            --account-key ACCOUNT.pub --out FILE [--kind person|duty-desk]
                            [--escalation ID,ID] [--days 365]
  liaison device certify    --contact-cert FILE --account-key ACCOUNT.key --device-key DEVICE.pub
                            --name NAME --out FILE [--days 365]
  liaison revoke            --issuer-key FILE --network ID --subject authority|contact-point|device
                            --id ID --out FILE [--reason key-compromise|superseded|left-post|other]
  liaison verify            --roots FILE[,FILE] --authority FILE --contact FILE [--device FILE]
                            [--revocations FILE,FILE]

Private keys are written encrypted, mode 0600. The passphrase comes from --passphrase-file FILE,
else the LIAISON_PASSPHRASE variable, else the terminal. Nothing is ever overwritten.`;

const OPTIONS = [
  'id',
  'name',
  'out',
  'root',
  'root-key',
  'country',
  'public-key',
  'days',
  'authority-cert',
  'authority-key',
  'role',
  'languages',
  'competences',
  'time-zone',
  'account-key',
  'kind',
  'escalation',
  'contact-cert',
  'device-key',
  'issuer-key',
  'network',
  'subject',
  'reason',
  'roots',
  'authority',
  'contact',
  'device',
  'revocations',
  'passphrase-file',
] as const;

const COMMANDS: Record<string, (ctx: commands.CommandContext) => Promise<unknown>> = {
  'network init': commands.networkInit,
  'key new': commands.keyNew,
  'authority issue': commands.authorityIssue,
  'contact designate': commands.contactDesignate,
  'device certify': commands.deviceCertify,
  revoke: commands.revokeCommand,
  verify: commands.verify,
};

/** Runs one command line; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function run(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(OPTIONS.map((o) => [o, { type: 'string' as const }])),
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const name = parsed.positionals.join(' ');
  if (parsed.values.help || !(name in COMMANDS)) {
    console.error(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  await ready();
  try {
    const outcome = await (COMMANDS[name] as (ctx: commands.CommandContext) => Promise<unknown>)({
      options: parsed.values as commands.Options,
      now: Date.now(),
      passphrase: {
        file: parsed.values['passphrase-file'] as string | undefined,
        environment: environment.LIAISON_PASSPHRASE,
      },
      print: (line) => console.log(line),
    });
    return outcome === false ? 1 : 0;
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`liaison: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await run(process.argv.slice(2), process.env);
