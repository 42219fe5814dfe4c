// One server upload's parts as the browser sees them: their digests, the signed URLs it holds
// (asked for in batches, kept until shortly before they expire), and which parts are on S3.
import { digestBlob, limiter } from './hashing.js'

// Parts signed per call: enough to stay ahead of the senders, few enough that the first part
// need not wait for many hashes. Never more than the server takes (maxBatch).
const BATCH = 12
const MAX_MARGIN_MS = 60_000
const hashing = limiter(2)

export class UploadParts {
  constructor({ api, upload, data, lookahead = 6, maxBatch }) {
    this.api = api
    this.batch = Math.min(BATCH, maxBatch)
    this.upload = upload
    this.data = data
    this.lookahead = lookahead
    this.digests = new Map() // part number -> Promise<{sha256, md5}>
    this.urls = new Map() // part number -> {url, headers, expiresAt, ttl}
    this.pending = new Map() // part number -> Promise of the batch signing it
    this.stored = new Map() // part number -> ETag, for parts known to be on S3 as this content
  }

  get partCount() {
    return this.upload.part_count
  }

  // The server plans the parts; a part's bytes follow from its answer (part_size, size).
  blob(partNumber) {
    const start = (partNumber - 1) * this.upload.part_size
    return this.data.slice(start, Math.min(this.upload.size, start + this.upload.part_size))
  }

  partLength(partNumber) {
    return this.blob(partNumber).size
  }

  digest(partNumber, blob) {
    let promise = this.digests.get(partNumber)
    if (!promise) {
      promise = hashing(() => digestBlob(blob ?? this.blob(partNumber)))
      promise.catch(() => this.digests.delete(partNumber))
      this.digests.set(partNumber, promise)
    }
    return promise
  }

  #fresh(entry) {
    if (!entry) return false
    const margin = Math.min(MAX_MARGIN_MS, entry.ttl / 5)
    return entry.expiresAt - Date.now() > margin
  }

  #needsSigning(partNumber) {
    return !this.stored.has(partNumber)
      && !this.pending.has(partNumber)
      && !this.#fresh(this.urls.get(partNumber))
  }

  markStored(partNumber, etag) {
    this.stored.set(partNumber, etag)
    this.urls.delete(partNumber)
  }

  // S3 refused the URL (it expired, or the clock moved): the next request signs a new one.
  forget(partNumber) {
    this.urls.delete(partNumber)
  }

  async urlFor(partNumber, body) {
    // A few rounds at most: a URL can go stale between signing and use only when URLs live
    // for less time than a batch takes to sign.
    for (let round = 0; round < 4; round++) {
      const entry = this.urls.get(partNumber)
      if (this.#fresh(entry)) {
        this.#prefetchAfter(partNumber)
        return entry
      }
      const pending = this.pending.get(partNumber)
      await (pending ?? this.#sign(this.#batchFrom(partNumber), body))
    }
    throw new Error(`Part ${partNumber}: the signed URLs expire before they can be used.`)
  }

  #batchFrom(first) {
    const numbers = [first]
    for (let n = first + 1; n <= this.partCount && numbers.length < this.batch; n++) {
      if (this.#needsSigning(n)) numbers.push(n)
    }
    return numbers
  }

  // Keep about `lookahead` signed parts ahead of the one starting, so that a part rarely waits
  // for a signing round trip.
  #prefetchAfter(partNumber) {
    for (let n = partNumber + 1; n <= Math.min(this.partCount, partNumber + this.lookahead); n++) {
      if (this.#needsSigning(n)) {
        this.#sign(this.#batchFrom(n)).catch(() => {}) // the part itself will ask again
        return
      }
    }
  }

  #sign(numbers, firstBody) {
    const batch = (async () => {
      const parts = await Promise.all(numbers.map(async (n, i) => {
        const { sha256, md5 } = await this.digest(n, i === 0 ? firstBody : undefined)
        return { part_number: n, checksum_sha256: sha256, content_md5: md5 }
      }))
      const { data, response, startedAt } = await this.api.post(`${this.upload.id}/parts/`, { parts })
      // The server's clock says how long the URLs live; counted from when we asked, so a skewed
      // browser clock cannot make us keep an expired URL.
      const serverNow = Date.parse(response.headers.get('Date') ?? '')
      const expires = Date.parse(data.expires_at)
      const ttl = Number.isFinite(serverNow) ? expires - serverNow : expires - Date.now()
      for (const part of data.parts) {
        this.urls.set(part.part_number, {
          url: part.url,
          method: part.method ?? 'PUT',
          headers: part.headers,
          expiresAt: startedAt + ttl,
          ttl,
        })
      }
    })()
    for (const n of numbers) this.pending.set(n, batch)
    const clear = () => {
      for (const n of numbers) if (this.pending.get(n) === batch) this.pending.delete(n)
    }
    batch.then(clear, clear)
    return batch
  }

  // The parts S3 holds that may be skipped: the server verified their content against the MD5
  // signed with them, and their SHA-256 is this file's part's. Anything else is sent again.
  async provenParts(heldParts) {
    const proven = new Map(this.stored)
    await Promise.all(heldParts.map(async (held) => {
      const n = held.part_number
      if (proven.has(n) || !held.verified || n > this.partCount) return
      if (held.size !== this.partLength(n)) return
      const local = await this.digest(n)
      if (local.sha256 === held.checksum_sha256) proven.set(n, held.etag)
    }))
    for (const [n, etag] of proven) this.stored.set(n, etag)
    return proven
  }
}
