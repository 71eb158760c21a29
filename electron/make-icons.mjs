// Draws the placeholder icons (a key: a ring with a bit) as PNGs with node:zlib only, so the
// repo needs no image tool. Run: node electron/make-icons.mjs. Writes assets/tray/ and build/icon.png.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
/** RGBA pixels (size*size*4) -> PNG bytes. */
export function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Coverage (0..1) of the key glyph at unit coordinates, 4x4 supersampled for soft edges. */
function keyCoverage(size, px, py) {
  let hits = 0;
  for (let sy = 0; sy < 4; sy++)
    for (let sx = 0; sx < 4; sx++) {
      const x = (px + (sx + 0.5) / 4) / size;
      const y = (py + (sy + 0.5) / 4) / size;
      const d = Math.hypot(x - 0.34, y - 0.5);
      const ring = d <= 0.24 && d >= 0.11;
      const shaft = x >= 0.52 && x <= 0.92 && Math.abs(y - 0.5) <= 0.06;
      const bit = ((x >= 0.72 && x <= 0.78) || (x >= 0.84 && x <= 0.92)) && y >= 0.5 && y <= 0.7;
      if (ring || shaft || bit) hits++;
    }
  return hits / 16;
}

function icon(size, [r, g, b], dot, hollowDot = false) {
  const px = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let cover = keyCoverage(size, x, y);
      let colour = [r, g, b];
      if (dot) {
        // A status dot at the top right: active (green) or attention (orange).
        const d = Math.hypot((x + 0.5) / size - 0.82, (y + 0.5) / size - 0.2);
        if (d <= 0.16 && !(hollowDot && d < 0.09)) {
          cover = 1;
          colour = dot;
        }
      }
      const i = (y * size + x) * 4;
      px[i] = colour[0];
      px[i + 1] = colour[1];
      px[i + 2] = colour[2];
      px[i + 3] = Math.round(cover * 255);
    }
  return encodePng(size, px);
}

const BLACK = [0, 0, 0];
const DARK = [34, 34, 34];
const LIGHT = [240, 240, 240];
const GREEN = [46, 160, 67];
const ORANGE = [230, 126, 34];

const write = (path, bytes) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
};
const tray = (name) => join(root, 'assets', 'tray', name);

// macOS template images: black plus alpha only (the system tints them), so status shows as a
// solid dot (active) or a hollow ring (attention), both in black.
for (const [name, dot, hollow] of [['icon', null, false], ['iconActive', BLACK, false], ['iconAttention', BLACK, true]]) {
  write(tray(`${name}Template.png`), icon(16, BLACK, dot, hollow));
  write(tray(`${name}Template@2x.png`), icon(32, BLACK, dot, hollow));
}
// Linux/Windows: "light" is a light glyph for dark taskbars, "dark" a dark glyph for light ones.
for (const [theme, colour] of [['light', LIGHT], ['dark', DARK]]) {
  write(tray(`tray-${theme}.png`), icon(32, colour, null));
  write(tray(`tray-${theme}-active.png`), icon(32, colour, GREEN));
  write(tray(`tray-${theme}-attention.png`), icon(32, colour, ORANGE));
}
// The app icon: a light key on a blue rounded square.
{
  const size = 512;
  const px = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size;
      const v = (y + 0.5) / size;
      const inset = 0.06;
      const radius = 0.18;
      const cx = Math.min(Math.max(u, inset + radius), 1 - inset - radius);
      const cy = Math.min(Math.max(v, inset + radius), 1 - inset - radius);
      const inside = Math.hypot(u - cx, v - cy) <= radius;
      const key = keyCoverage(size, x, y);
      const i = (y * size + x) * 4;
      const bg = [37, 99, 235];
      for (let c = 0; c < 3; c++) px[i + c] = Math.round(bg[c] * (1 - key) + 250 * key);
      px[i + 3] = inside ? 255 : 0;
    }
  write(join(root, 'build', 'icon.png'), encodePng(size, px));
}
console.log('icons written to assets/tray/ and build/icon.png');
