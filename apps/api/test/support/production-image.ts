/**
 * apps/api/Dockerfile's stages run on the host (scripts/dockerfile), for tests of what the image
 * would contain and run: the build stage's `npm ci` + `npm run build`, then the runtime stage's
 * `npm ci --omit=dev` into a fresh folder with only the built files copied over.
 */
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDockerfile, type Stage } from '../../../../scripts/dockerfile/parse.ts';
import { runStage, type StageResult } from '../../../../scripts/dockerfile/run-stage.ts';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const API_DOCKERFILE = join(ROOT, 'apps/api/Dockerfile');

export interface ImageStages {
  stages: Stage[];
  results: Map<string, StageResult>;
  /** Wall time per stage, ms. */
  durations: Map<string, number>;
}

/**
 * The environment RUN lines get: only what a container's shell would have (PATH, HOME), plus npm's
 * cache preference so `npm ci` takes cached tarballs without asking the registry about each one;
 * nothing of this test process (NODE_ENV=test would change what npm installs).
 */
export function hostEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
  };
}

export async function runImageStages(dockerfile: string, into: string): Promise<ImageStages> {
  const file = posix.relative(ROOT, dockerfile);
  const stages = parseDockerfile(await readFile(dockerfile, 'utf8'), file);
  const results = new Map<string, StageResult>();
  const durations = new Map<string, number>();
  for (const stage of stages) {
    const started = Date.now();
    results.set(
      stage.name,
      await runStage(stage, {
        context: ROOT,
        root: join(into, stage.name),
        earlier: results,
        hostEnv: hostEnv(),
        file,
      }),
    );
    durations.set(stage.name, Date.now() - started);
  }
  return { stages, results, durations };
}

/** The host folder of a path inside a stage's image (e.g. its WORKDIR). */
export function hostPath(stage: StageResult, path = stage.workdir): string {
  return join(stage.root, posix.resolve(stage.workdir, path));
}
