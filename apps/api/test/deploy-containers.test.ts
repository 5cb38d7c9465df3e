/**
 * The container files that no engine can run here (docs/operations.md, "Build and containers"):
 * both Dockerfiles stay inside what scripts/dockerfile runs, copy what exists and is in the build
 * context, and give `npm ci` every workspace manifest the lockfile names; compose's nginx
 * configuration passes `nginx -t` and proxies to services compose defines. The API image's stages
 * themselves run in production-build.test.ts.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { contextFiles, readDockerignore } from '../../../scripts/dockerfile/dockerignore.ts';
import { execForm, parseDockerfile } from '../../../scripts/dockerfile/parse.ts';
import { ROOT } from './support/production-image.ts';

const DOCKERFILES = ['apps/api/Dockerfile', 'apps/web/Dockerfile'];

/** Workspace folders as the lockfile lists them (what `npm ci` checks the manifests against). */
async function workspaceFolders(): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { link?: boolean }>;
  };
  return Object.keys(lock.packages).filter((p) => p !== '' && !p.includes('node_modules'));
}

describe.each(DOCKERFILES)('%s', (file) => {
  it('has a build and a runtime stage that copy existing, non-ignored files and every workspace manifest', async () => {
    const stages = parseDockerfile(await readFile(join(ROOT, file), 'utf8'), file);
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    const context = new Set(await contextFiles(ROOT, await readDockerignore(ROOT)));
    const manifests = (await workspaceFolders()).map((w) => `${w}/package.json`);
    for (const stage of stages) {
      const copied: string[] = [];
      for (const { keyword, args, line } of stage.instructions) {
        if (keyword !== 'COPY' || args.includes('--from=')) continue;
        const sources = args.split(/\s+/).filter((w) => !w.startsWith('--'));
        sources.pop();
        for (const source of sources) {
          if (source === '.') continue;
          const inContext = context.has(source) || [...context].some((f) => f.startsWith(`${source}/`));
          expect(inContext, `${file}:${line} copies ${source}, which is missing or left out by .dockerignore`).toBe(
            true,
          );
          copied.push(source);
        }
      }
      for (const manifest of manifests) {
        expect(copied, `${file} stage ${stage.name}: npm ci needs ${manifest}`).toContain(manifest);
      }
      const runtime = stage.name === 'runtime';
      if (runtime) {
        const keywords = stage.instructions.map((i) => i.keyword);
        expect(keywords, `${file}: the runtime stage runs as a non-root USER with a HEALTHCHECK`).toEqual(
          expect.arrayContaining(['USER', 'HEALTHCHECK', 'CMD']),
        );
        const cmd = stage.instructions.find((i) => i.keyword === 'CMD')!;
        expect(execForm(cmd.args, file)[0], 'node itself is PID 1, so SIGTERM reaches it').toBe('node');
        const install = stage.instructions.find((i) => i.keyword === 'RUN' && i.args.startsWith('npm ci'));
        expect(install?.args, `${file}: the runtime stage installs production dependencies only`).toContain(
          '--omit=dev',
        );
      }
    }
  });
});

describe('deploy/compose.yaml', () => {
  it('defines nginx, two API instances, the web app, Redis and Postgres, built from the two Dockerfiles', async () => {
    const compose = await readFile(join(ROOT, 'deploy/compose.yaml'), 'utf8');
    const services = compose.slice(compose.indexOf('\nservices:'), compose.indexOf('\nvolumes:'));
    const names = [...services.matchAll(/^ {2}([a-z0-9-]+):$/gm)].map((m) => m[1]);
    expect(names).toEqual(['api-1', 'api-2', 'web', 'nginx', 'postgres', 'redis']);
    for (const dockerfile of DOCKERFILES) {
      expect(compose, `compose builds ${dockerfile}`).toContain(`dockerfile: ${dockerfile}`);
      await access(join(ROOT, dockerfile));
    }
  });

  it("nginx's configuration passes nginx -t and proxies only to services compose defines", async () => {
    const conf = await readFile(join(ROOT, 'deploy/compose-nginx.conf'), 'utf8');
    const upstreamHosts = new Set([...conf.matchAll(/^\s*server ([a-z0-9-]+):\d+/gm)].map((m) => m[1]));
    expect([...upstreamHosts].sort()).toEqual(['api-1', 'api-2', 'web']);
    const dir = await mkdtemp(join(tmpdir(), 'anmei-compose-nginx-'));
    try {
      // Compose's service names resolve only inside compose's network: stand in 127.0.0.1 for them.
      const local = conf.replace(/^(\s*server )([a-z0-9-]+)(:\d+)/gm, '$1127.0.0.1$3');
      await writeFile(join(dir, 'compose.conf'), local);
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`);
      await writeFile(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n${temp.join('\n')}\ninclude ${dir}/compose.conf;\n}\n`,
      );
      const checked = await promisify(execFile)('/usr/sbin/nginx', [
        '-t',
        '-c',
        join(dir, 'nginx.conf'),
        '-p',
        dir,
      ]).catch((error: { stderr?: string; code?: string }) => {
        if (error.code === 'ENOENT') throw new Error('nginx is not installed: run `apt-get install -y nginx-light`');
        return { stderr: error.stderr ?? String(error), failed: true };
      });
      expect(checked, `nginx -t deploy/compose-nginx.conf:\n${checked.stderr}`).not.toHaveProperty('failed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
