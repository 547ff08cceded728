/** What `npm pack` would publish: no source maps pointing at a src/ that is not shipped; every entry point present. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

interface PackedFile {
  path: string;
  size: number;
}

describe('the published package', () => {
  it('holds no .map file and no sourceMappingURL, and holds every entry point', { timeout: 60_000 }, async () => {
    // --ignore-scripts: `prepare` would rebuild; the test runs against the dist/ already built (`npm test` builds first).
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { maxBuffer: 16 * 1024 * 1024 });
    const [pack] = JSON.parse(stdout) as Array<{ files: PackedFile[] }>;
    const paths = pack.files.map((file) => file.path);
    expect(paths.filter((path) => path.endsWith('.map'))).toEqual([]);
    expect(paths.some((path) => path.startsWith('src/'))).toBe(false);
    const manifest = JSON.parse(await readFile('package.json', 'utf8'));
    const entryPoints = [manifest.main, ...Object.values(manifest.bin as Record<string, string>)];
    for (const target of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) {
      entryPoints.push(...(typeof target === 'string' ? [target] : Object.values(target)));
    }
    for (const entry of entryPoints) expect(paths, entry).toContain(entry.replace(/^\.\//, ''));
    for (const path of paths.filter((p) => p.endsWith('.js'))) {
      expect(await readFile(path, 'utf8'), path).not.toMatch(/sourceMappingURL/);
    }
  });
});
