/**
 * The files `COPY . .` sends from the build context, after .dockerignore. Docker's rules as far as
 * our .dockerignore uses them: one glob per line relative to the context root (`**` any number of
 * folders, `*` and `?` within one name), `#` comments, and a pattern that matches a folder leaves out
 * everything in it. `!` exceptions are refused, not guessed at.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function readDockerignore(context: string): Promise<RegExp[]> {
  let text = '';
  try {
    text = await readFile(join(context, '.dockerignore'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((pattern) => {
      if (pattern.startsWith('!')) {
        throw new Error(`.dockerignore: "${pattern}": exceptions (!) are not supported by scripts/dockerfile`);
      }
      return globToRegExp(pattern.replace(/^\/+/, '').replace(/\/+$/, ''));
    });
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more folders; a trailing `**` anything.
      out += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Paths (relative, `/`-separated) of every file in the context that is not ignored. */
export async function contextFiles(context: string, ignore: RegExp[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(context, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (ignore.some((re) => re.test(path))) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  await walk('');
  return files;
}
