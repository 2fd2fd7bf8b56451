/** One instruction of a Dockerfile: its keyword (upper case) and the rest of its line. */
export interface Instruction {
  op: string;
  args: string;
}

/** One stage: its base image, its name (`AS name`), and its instructions after FROM. */
export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/**
 * The stages of a Dockerfile, for a test that replays them without a Docker engine. Enough of the
 * syntax for this repository's Dockerfile: comments, line continuations, one instruction a line.
 */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') {
      const [from = '', , name] = args.split(/\s+/);
      stages.push({ from, ...(name && { name }), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${op} before FROM`);
      stage.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** `KEY=value KEY2=value2` of ENV, without quoting (none is used here). */
export function parseEnv(args: string): Record<string, string> {
  return Object.fromEntries(
    args.split(/\s+/).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`ENV ${args}: only KEY=value pairs are replayed`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
