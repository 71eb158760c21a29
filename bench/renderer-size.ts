/**
 * renderer_js_gzip_kb: the UI's JavaScript as shipped (production build), gzipped, in KiB.
 * Run alone: npx tsx bench/renderer-size.ts
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isMain, REPO } from './processes';

export function benchRendererSize() {
  execFileSync('npm', ['run', 'build', '-w', '@stint/renderer'], { cwd: REPO, stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production' } });
  const assets = join(REPO, 'renderer/dist/assets');
  const files = readdirSync(assets).filter((f) => f.endsWith('.js'));
  let raw = 0;
  let gzipped = 0;
  for (const file of files) {
    const content = readFileSync(join(assets, file));
    raw += content.length;
    gzipped += gzipSync(content, { level: 9 }).length;
  }
  console.log(`renderer JS: ${files.length} file(s), ${(raw / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
  return {
    renderer_js_kb: { value: Number((raw / 1024).toFixed(1)), unit: 'KiB' },
    renderer_js_gzip_kb: { value: Number((gzipped / 1024).toFixed(1)), unit: 'KiB' },
  };
}

if (isMain(import.meta.url)) console.log(JSON.stringify(benchRendererSize(), null, 2));
