// One part's digests, base64 as S3 wants them: SHA-256 always (WebCrypto: native code, several
// times faster here than a WebAssembly SHA-256), MD5 (hash-wasm) only when asked. The Blob is
// read into memory once for both.
import { createMD5 } from 'hash-wasm'

let md5Hasher = null

export function toBase64(bytes) {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

export async function digestBlob(blob, { md5 = false } = {}) {
  const buffer = await blob.arrayBuffer()
  const result = { sha256: toBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', buffer))) }
  if (md5) {
    md5Hasher ??= createMD5()
    const hasher = await md5Hasher
    // init/update/digest run without an await between them, so one hasher serves every caller.
    hasher.init()
    hasher.update(new Uint8Array(buffer))
    result.md5 = toBase64(hasher.digest('binary'))
  }
  return result
}
