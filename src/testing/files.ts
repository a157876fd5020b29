/**
 * Placeholder media behind the output URLs. The simulator serves bytes of the advertised
 * length and content type, not decodable media.
 */
import { deflateSync } from 'node:zlib';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let crcTable: Uint32Array | undefined;

/** CRC-32 as PNG chunks use it (polynomial 0xEDB88320). */
function crc32(data: Buffer): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let byte = 0; byte < 256; byte += 1) {
      let value = byte;
      for (let bit = 0; bit < 8; bit += 1) {
        value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
      }
      crcTable[byte] = value >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) {
    crc = (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

let onePixelPng: Buffer | undefined;

/** Returns a valid 1×1 grey PNG, used for `sync_mode` data URIs. */
export function onePixelPngBytes(): Buffer {
  if (onePixelPng === undefined) {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(1, 0);
    header.writeUInt32BE(1, 4);
    header[8] = 8; // bit depth
    header[9] = 0; // greyscale
    const scanline = Buffer.from([0, 0x80]); // filter type 0, one grey pixel
    onePixelPng = Buffer.concat([
      PNG_SIGNATURE,
      pngChunk('IHDR', header),
      pngChunk('IDAT', deflateSync(scanline)),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
  }
  return onePixelPng;
}

/** Leading bytes that identify common media formats, so sniffers see the advertised type. */
const MAGIC_BYTES: Readonly<Record<string, Buffer>> = {
  'image/png': PNG_SIGNATURE,
  'image/jpeg': Buffer.from([0xff, 0xd8, 0xff]),
  'image/webp': Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'),
  'video/mp4': Buffer.from('\0\0\0\x18ftypmp42', 'latin1'),
  'audio/mpeg': Buffer.from('ID3', 'latin1'),
};

/**
 * Returns `sizeBytes` bytes that start with the format's magic bytes and are zero after that.
 * NOTE: the result is not decodable media; clients that only download and store it work.
 */
export function placeholderFileBytes(contentType: string, sizeBytes: number): Buffer {
  const bytes = Buffer.alloc(Math.max(0, Math.floor(sizeBytes)));
  const magic = MAGIC_BYTES[contentType];
  if (magic !== undefined) {
    magic.copy(bytes, 0, 0, Math.min(magic.length, bytes.length));
  }
  return bytes;
}
