// Packs every package with pnpm, and reads and rewrites the packed .tgz files (POSIX ustar inside gzip) without a
// tar binary: the sabotage checks open a tarball, break it and pack it again.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

const BLOCK = 512;

const field = (block, start, length) =>
  block
    .subarray(start, start + length)
    .toString('utf8')
    .replace(/\0.*$/s, '');

/** The files of a .tgz as `Map<path, Buffer>`, paths as stored (`package/...`). */
export function readTarball(file) {
  const data = gunzipSync(readFileSync(file));
  const files = new Map();
  let longName;
  for (let offset = 0; offset + BLOCK <= data.length; ) {
    const header = data.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = field(header, 156, 1) || '0';
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const body = data.subarray(offset + BLOCK, offset + BLOCK + size);
    longName = undefined;
    // A pax header may carry the next entry's path; nothing else in it matters here.
    if (type === 'x') longName = body.toString('utf8').match(/\d+ path=([^\n]*)\n/)?.[1];
    else if (type === '0') files.set(name, Buffer.from(body));
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

function header(name, size) {
  if (Buffer.byteLength(name) > 100) throw new Error(`path too long for this writer: ${name}`);
  const block = Buffer.alloc(BLOCK);
  const put = (value, start, length) => block.write(value, start, length, 'utf8');
  const octal = (value, length) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  const sum = block.reduce((total, byte) => total + byte, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** Writes `files` (`Map<path, Buffer | string>`) as a .tgz that npm and pnpm install. */
export function writeTarball(file, files) {
  const parts = [];
  for (const [name, content] of files) {
    const body = Buffer.from(content);
    parts.push(header(name, body.length), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  writeFileSync(file, gzipSync(Buffer.concat(parts)));
}

/** The packed manifest of a tarball. */
export const manifestOf = (files) => JSON.parse(files.get('package/package.json').toString('utf8'));

/**
 * `pnpm pack` of every package under packages/ into `destination`, as a user gets them from the registry:
 * `workspace:` and `catalog:` specifiers are replaced by versions. Resolves `[{ name, version, filename }]`.
 */
export function packAll(root, destination) {
  return new Promise((done, fail) => {
    const args = ['-y', 'pnpm@12.4.2', '-r', '--filter', './packages/*', 'pack', '--json', '--pack-destination', destination];
    execFile('npx', args, { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return fail(new Error(`pnpm pack failed: ${(stderr || stdout || error.message).trim().slice(-1500)}`));
      try {
        done(JSON.parse(stdout).map(({ name, version, filename }) => ({ name, version, filename })));
      } catch {
        fail(new Error(`pnpm pack printed no JSON list: ${stdout.slice(0, 500)}`));
      }
    });
  });
}
