import type { FastifyInstance, RouteShorthandOptions } from 'fastify';

/**
 * The 16×16 icon every browser asks each listener for (`/favicon.ico`): without one, every page visit logs a 404 in the
 * console. Drawn here as pixels rather than shipped as a file: `dist/` holds compiled code only, and an ICO built at
 * start from 16 readable rows needs no asset copying, no image tooling, and reviews as text.
 * `g` WeChat green, `w` white, `.` transparent.
 */
const PIXELS = [
  '..gggggggggggg..',
  '.gggggggggggggg.',
  'gggggggggggggggg',
  'ggwwggggggggwwgg',
  'ggwwggggggggwwgg',
  'ggwwggggggggwwgg',
  'ggwwgggwwgggwwgg',
  'ggwwgggwwgggwwgg',
  'ggwwggwwwwggwwgg',
  'ggwwgwwggwwgwwgg',
  'ggwwwwggggwwwwgg',
  'gggwwggggggwwggg',
  'gggggggggggggggg',
  'gggggggggggggggg',
  '.gggggggggggggg.',
  '..gggggggggggg..',
] as const;

const BGRA: Record<string, readonly [number, number, number, number]> = {
  g: [0x60, 0xc1, 0x07, 0xff],
  w: [0xff, 0xff, 0xff, 0xff],
  '.': [0, 0, 0, 0],
};

/** An ICO holding one 32-bit BMP (alpha in the pixels, so its AND mask stays all zeros). */
function buildIco(rows: readonly string[]): Buffer {
  const size = rows.length;
  const maskRowBytes = Math.ceil(size / 32) * 4;
  const imageBytes = 40 + size * size * 4 + maskRowBytes * size;
  const ico = Buffer.alloc(6 + 16 + imageBytes);
  ico.writeUInt16LE(1, 2); // type: icon
  ico.writeUInt16LE(1, 4); // one image
  ico.writeUInt8(size, 6);
  ico.writeUInt8(size, 7);
  ico.writeUInt16LE(1, 10); // planes
  ico.writeUInt16LE(32, 12); // bits per pixel
  ico.writeUInt32LE(imageBytes, 14);
  ico.writeUInt32LE(22, 18); // offset of the image
  ico.writeUInt32LE(40, 22); // BITMAPINFOHEADER
  ico.writeInt32LE(size, 26);
  ico.writeInt32LE(size * 2, 30); // XOR bitmap + AND mask, as ICO requires
  ico.writeUInt16LE(1, 34);
  ico.writeUInt16LE(32, 36);
  ico.writeUInt32LE(size * size * 4 + maskRowBytes * size, 42);
  let at = 62;
  // BMP rows run bottom-up.
  for (let y = size - 1; y >= 0; y--) {
    for (const c of rows[y]!) {
      for (const byte of BGRA[c]!) ico.writeUInt8(byte, at++);
    }
  }
  return ico;
}

export const FAVICON_ICO: Buffer = buildIco(PIXELS);

/** `GET /favicon.ico` (and HEAD): no authentication, cached for a week by browsers and proxies. */
export function faviconRoute(app: FastifyInstance, options: RouteShorthandOptions = {}): void {
  app.get('/favicon.ico', options, async (_request, reply) =>
    reply.type('image/x-icon').header('cache-control', 'public, max-age=604800, immutable').send(FAVICON_ICO),
  );
}
