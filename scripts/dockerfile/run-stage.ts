/**
 * Runs one Dockerfile stage on the host, in a folder that stands for the image's file system
 * (`<root>/app` for WORKDIR /app): COPY copies from the build context (after .dockerignore) or
 * from an earlier stage's folder, RUN runs `sh -c` in the WORKDIR with the stage's ENV. It is how
 * CI exercises apps/api/Dockerfile where no container engine runs. What it cannot do, it says:
 * the base image is not pulled (the host's Node runs, and must have the image's major version) and
 * ownership (USER, COPY --chown) is recorded, not applied.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { contextFiles, readDockerignore } from './dockerignore.ts';
import { envPairs, execForm, type Stage } from './parse.ts';

export interface StageResult {
  name: string;
  /** Host folder standing for the image's `/`. */
  root: string;
  /** Absolute path inside the image, e.g. /app. */
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  cmd: string[] | null;
  healthcheck: string[] | null;
}

export interface RunStageOptions {
  /** The build context (the repository root). */
  context: string;
  /** Empty host folder for this stage's file system. */
  root: string;
  /** Stages run before, by name, for COPY --from. */
  earlier: ReadonlyMap<string, StageResult>;
  /** Host environment for RUN (PATH, HOME, npm settings); the stage's ENV is laid over it. */
  hostEnv: Record<string, string>;
  /** Each instruction before it runs, and RUN output. */
  log?: (line: string) => void;
  file?: string;
}

export async function runStage(stage: Stage, options: RunStageOptions): Promise<StageResult> {
  const file = options.file ?? 'Dockerfile';
  const log = options.log ?? (() => undefined);
  const result: StageResult = {
    name: stage.name,
    root: options.root,
    workdir: '/',
    env: {},
    user: null,
    cmd: null,
    healthcheck: null,
  };
  const inImage = (path: string) => join(options.root, posix.resolve(result.workdir, path));
  const ignore = await readDockerignore(options.context);
  for (const { keyword, args, line } of stage.instructions) {
    const where = `${file}:${line}`;
    log(`[${stage.name}] ${keyword} ${args}`);
    if (keyword === 'WORKDIR') {
      if (!args.startsWith('/')) throw new Error(`${where}: WORKDIR must be absolute (got ${args})`);
      result.workdir = args;
      await mkdir(inImage('.'), { recursive: true });
    } else if (keyword === 'ENV') {
      for (const [k, v] of envPairs(args, where)) result.env[k] = v;
    } else if (keyword === 'USER') {
      result.user = args;
    } else if (keyword === 'EXPOSE') {
      // Documentation only for the image; nothing to do on the host.
    } else if (keyword === 'CMD') {
      result.cmd = execForm(args, where);
    } else if (keyword === 'HEALTHCHECK') {
      const at = args.indexOf('CMD ');
      if (at < 0) throw new Error(`${where}: HEALTHCHECK needs CMD ["…"]`);
      result.healthcheck = execForm(args.slice(at + 4).trim(), where);
    } else if (keyword === 'COPY') {
      await copy(args, where, options, inImage, ignore);
    } else {
      await run(args, where, inImage('.'), { ...options.hostEnv, ...result.env }, log);
    }
  }
  return result;
}

async function copy(
  args: string,
  where: string,
  options: RunStageOptions,
  inImage: (path: string) => string,
  ignore: RegExp[],
): Promise<void> {
  const words = args.split(/\s+/);
  let from: StageResult | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) {
      const name = flag.slice('--from='.length);
      from = options.earlier.get(name) ?? null;
      if (!from) throw new Error(`${where}: COPY --from=${name}: no earlier stage of that name`);
    } else if (!flag.startsWith('--chown=')) {
      throw new Error(`${where}: COPY ${flag} is not supported by scripts/dockerfile`);
    }
  }
  const dest = words.pop();
  if (!dest || words.length === 0) throw new Error(`${where}: COPY needs at least one source and a destination`);
  const intoFolder = dest.endsWith('/') || words.length > 1;
  const target = inImage(dest);
  for (const source of words) {
    if (source.includes('*')) throw new Error(`${where}: COPY wildcards are not supported by scripts/dockerfile`);
    // From the context: only what .dockerignore lets through. From a stage: that stage's file system.
    const origin = from ? join(from.root, source) : join(options.context, source);
    const info = await stat(origin).catch(() => null);
    if (!info) throw new Error(`${where}: COPY source ${source} does not exist (${origin})`);
    if (info.isDirectory()) {
      const files = from ? null : (await contextFiles(options.context, ignore)).filter((f) => inside(f, source));
      if (files) {
        for (const f of files) {
          const rel = source === '.' ? f : f.slice(posix.normalize(source).length + 1);
          await mkdir(dirname(join(target, rel)), { recursive: true });
          await cp(join(options.context, f), join(target, rel));
        }
      } else {
        await cp(origin, target, { recursive: true });
      }
    } else {
      const to = intoFolder ? join(target, basename(source)) : target;
      await mkdir(dirname(to), { recursive: true });
      await cp(origin, to);
    }
  }
}

function inside(file: string, folder: string): boolean {
  const f = posix.normalize(folder);
  return f === '.' || file.startsWith(`${f}/`);
}

function run(command: string, where: string, cwd: string, env: Record<string, string>, log: (l: string) => void) {
  if (/(^|[\s=:'"])\/app\b/.test(command)) {
    throw new Error(`${where}: RUN must use paths relative to WORKDIR, not /app (the host has no /app)`);
  }
  return new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 64_000) output = output.slice(-32_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      log(output);
      if (code === 0) resolve();
      else reject(new Error(`${where}: RUN ${command} failed (exit ${code ?? signal}):\n${output.slice(-6000)}`));
    });
  });
}
