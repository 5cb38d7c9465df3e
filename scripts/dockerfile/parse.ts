/**
 * A Dockerfile as stages of instructions, for running its stages on the host where no container
 * engine runs (run-stage.ts). Only the subset our Dockerfiles use is understood; anything else is
 * refused with the line number, so a new instruction cannot silently go untested.
 */

export interface Instruction {
  keyword: 'WORKDIR' | 'COPY' | 'RUN' | 'ENV' | 'USER' | 'EXPOSE' | 'HEALTHCHECK' | 'CMD';
  /** The rest of the (joined) line, trimmed. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  name: string;
  /** The base image, e.g. node:20.20.2-bookworm-slim. */
  image: string;
  instructions: Instruction[];
}

const KEYWORDS = new Set<string>(['WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD']);

export function parseDockerfile(text: string, file = 'Dockerfile'): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    // Backslash continuations; comment lines inside a continued instruction are dropped, as Docker does.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1);
      const next = lines[++i]!.trim();
      if (!next.startsWith('#')) line += ` ${next}`;
    }
    const [word = '', ...rest] = line.split(/\s+/);
    const keyword = word.toUpperCase();
    const args = rest.join(' ');
    if (keyword === 'FROM') {
      const from = /^(\S+)\s+AS\s+([a-z0-9_.-]+)$/i.exec(args);
      if (!from) throw new Error(`${file}:${start}: write FROM as "FROM <image> AS <name>" (got "${line}")`);
      stages.push({ image: from[1]!, name: from[2]!, instructions: [] });
      continue;
    }
    if (!KEYWORDS.has(keyword)) {
      throw new Error(
        `${file}:${start}: ${keyword} is not supported by scripts/dockerfile (supported: FROM, ${[...KEYWORDS].join(', ')})`,
      );
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${file}:${start}: ${keyword} before the first FROM`);
    stage.instructions.push({ keyword: keyword as Instruction['keyword'], args, line: start });
  }
  return stages;
}

/** `["node", "x.js"]` (exec form) → argv. The shell form is refused: signals must reach node itself. */
export function execForm(args: string, where: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(args);
  } catch {
    argv = null;
  }
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
    throw new Error(`${where}: use the exec form ["program", "arg", …] (got ${args})`);
  }
  return argv as string[];
}

/** `A=1 B=two` → entries. Quoted values are refused rather than half-understood. */
export function envPairs(args: string, where: string): [string, string][] {
  return args.split(/\s+/).map((pair) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair);
    if (!m) throw new Error(`${where}: write ENV as KEY=value pairs without quotes (got "${pair}")`);
    return [m[1]!, m[2]!];
  });
}
