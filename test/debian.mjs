// Tools the tests and benchmarks start (redis-server, nginx) come from Debian's packages. On a fresh machine, where
// they are missing and we run as root, they are installed here, so the README's commands need no step of their own.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The binary's path, from PATH or the sbin folders a package puts daemons in (not always on a user's PATH). */
export function findBinary(binary) {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'])
    if (existsSync(`${dir}/${binary}`)) return `${dir}/${binary}`;
  const which = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/**
 * Installs `pkg` with apt-get when `binary` is missing (after `apt-get update` if the first try fails), and stops the
 * service the package may start: the tests start their own, on a free loopback port. Returns what went wrong, if anything.
 */
export function ensureDebianPackage(binary, pkg = binary, log = (line) => console.error(line)) {
  if (findBinary(binary)) return undefined;
  if (process.getuid?.() !== 0)
    return `${binary} is not installed and this is not root: run \`apt-get install -y ${pkg}\` (Debian) as root`;
  log(`${binary} not found: installing the Debian package (apt-get install -y ${pkg})...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    result = install();
  }
  spawnSync('service', [pkg, 'stop'], { stdio: 'ignore' });
  return findBinary(binary) ? undefined : `apt-get install ${pkg} failed (exit ${result.status})`;
}
