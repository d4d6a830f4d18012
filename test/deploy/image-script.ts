import { cpSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { envPairs, type Instruction } from './dockerfile-parser.ts';

/** .dockerignore's patterns as a test of a context-relative path (names, `*`, `**`; no `!`). */
export function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('exceptions (!) are not supported here');
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((part) =>
        part === '**'
          ? '.*'
          : part
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/');
    // A match also excludes everything under it.
    return new RegExp(`^${body}(/.*)?$`);
  });
  return (path) => regexes.some((r) => r.test(path));
}

/** Copy the repository to `to` as `docker build` would send it: minus what .dockerignore excludes. */
export function copyBuildContext(repo: string, to: string): void {
  const ignored = dockerignore(readFileSync(join(repo, '.dockerignore'), 'utf8'));
  cpSync(repo, to, {
    recursive: true,
    filter: (source) => {
      const path = relative(repo, source);
      return path === '' || !ignored(path);
    },
  });
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export interface ImageScript {
  script: string;
  user: string | undefined;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
}

/**
 * The Dockerfile's build as a bash script run as root in a private mount namespace on this machine
 * (Debian bookworm, the base image's distribution): /opt and /var/lib are empty tmpfs mounts there,
 * so the image's absolute paths are its own and nothing of the host is changed; the base image's
 * `node` user (uid 1000) is added to private copies of /etc/passwd and /etc/group; Node 24 is first
 * on PATH, as in the image. WORKDIR, ENV, COPY (from `context`) and RUN run in order; the script
 * ends by exec'ing ENTRYPOINT + CMD as USER with only the image's environment plus `runEnv` (as
 * `docker run -e` would). An `npm ci` that cannot reach its packages (this machine is offline and
 * npm's cache may lack some) prints NPM_CI_FALLBACK on stderr and links `fallbackNodeModules`
 * instead; every other step must succeed.
 */
export function imageScript(
  instructions: Instruction[],
  opts: {
    context: string;
    scratch: string;
    nodeDir: string;
    fallbackNodeModules: string;
    runEnv: Record<string, string>;
  },
): ImageScript {
  const froms = instructions.filter((i) => i.keyword === 'FROM');
  if (froms.length !== 1) throw new Error('one stage expected: the script runs a single image');
  const env: Record<string, string> = {};
  let user: string | undefined;
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const lines = [
    'set -euo pipefail',
    'mount --make-rprivate /',
    'mount -t tmpfs tmpfs /opt',
    'mount -t tmpfs tmpfs /var/lib',
    `cp /etc/passwd ${quote(join(opts.scratch, 'passwd'))}`,
    `cp /etc/group ${quote(join(opts.scratch, 'group'))}`,
    `echo 'node:x:1000:1000::/home/node:/bin/bash' >> ${quote(join(opts.scratch, 'passwd'))}`,
    `echo 'node:x:1000:' >> ${quote(join(opts.scratch, 'group'))}`,
    `mount --bind ${quote(join(opts.scratch, 'passwd'))} /etc/passwd`,
    `mount --bind ${quote(join(opts.scratch, 'group'))} /etc/group`,
    `export PATH=${quote(opts.nodeDir)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    'cd /',
  ];
  for (const i of instructions) {
    switch (i.keyword) {
      case 'WORKDIR':
        lines.push(`mkdir -p ${quote(i.args)}`, `cd ${quote(i.args)}`);
        break;
      case 'ENV':
        for (const [k, v] of Object.entries(envPairs(i))) {
          env[k] = v;
          lines.push(`export ${k}=${quote(v)}`);
        }
        break;
      case 'COPY': {
        if (i.flags['from']) throw new Error(`line ${i.line}: COPY --from is not run by this script`);
        const words = i.exec ?? i.args.split(/\s+/);
        const dest = words.at(-1)!;
        for (const src of words.slice(0, -1)) {
          const from = quote(join(opts.context, src));
          lines.push(
            `if [ -d ${from} ]; then mkdir -p ${quote(dest)} && cp -a ${from}/. ${quote(dest)}/;` +
              ` else test -e ${from} && cp -a ${from} ${quote(dest)}; fi`,
          );
        }
        break;
      }
      case 'RUN': {
        const command = i.exec ? i.exec.map(quote).join(' ') : i.args;
        if (/\bnpm ci\b/.test(command)) {
          lines.push(
            `if ! ( ${command} ); then echo NPM_CI_FALLBACK >&2;` +
              ` rm -rf node_modules; ln -s ${quote(opts.fallbackNodeModules)} node_modules; fi`,
          );
        } else {
          lines.push(`( ${command} )`);
        }
        break;
      }
      case 'USER':
        user = i.args;
        break;
      case 'ENTRYPOINT':
        entrypoint = i.exec ?? ['/bin/sh', '-c', i.args];
        break;
      case 'CMD':
        cmd = i.exec ?? ['/bin/sh', '-c', i.args];
        break;
      default: // FROM, EXPOSE, VOLUME, HEALTHCHECK, STOPSIGNAL, LABEL: nothing to run at build
    }
  }
  const runEnv = {
    ...env,
    ...opts.runEnv,
    PATH: `${opts.nodeDir}:/usr/local/bin:/usr/bin:/bin`,
    HOME: '/home/node',
  };
  const as = user
    ? `setpriv --reuid=$(id -u ${quote(user)}) --regid=$(id -g ${quote(user)}) --init-groups`
    : '';
  lines.push(
    `exec env -i ${Object.entries(runEnv)
      .map(([k, v]) => quote(`${k}=${v}`))
      .join(' ')} ${as} ${[...entrypoint, ...cmd].map(quote).join(' ')}`,
  );
  return { script: `${lines.join('\n')}\n`, user, env, entrypoint, cmd };
}
