// Each part's SHA-256 (WebCrypto) and MD5 (hash-wasm), both base64 as S3 wants them. The
// SHA-256 is signed into the part's URL so S3 refuses other bytes; the MD5 equals the ETag S3
// gives the part, which lets the server prove later that a part it holds is this content.
import { createMD5 } from 'hash-wasm'

let md5Hasher = null

export function toBase64(bytes) {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

export async function digestBlob(blob) {
  const buffer = await blob.arrayBuffer()
  const sha256 = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer))
  md5Hasher ??= createMD5()
  const md5 = await md5Hasher
  // init/update/digest run without an await between them, so one hasher serves every caller.
  md5.init()
  md5.update(new Uint8Array(buffer))
  return { sha256: toBase64(sha256), md5: toBase64(md5.digest('binary')) }
}

// At most `limit` parts are read into memory for hashing at once.
export function limiter(limit) {
  let active = 0
  const waiting = []
  const next = () => {
    if (active >= limit || waiting.length === 0) return
    active++
    const { task, resolve, reject } = waiting.shift()
    task().then(resolve, reject).finally(() => {
      active--
      next()
    })
  }
  return (task) => new Promise((resolve, reject) => {
    waiting.push({ task, resolve, reject })
    next()
  })
}
