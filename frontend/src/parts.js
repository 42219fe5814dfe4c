// One server upload's parts as the browser sees them: their digests, the signed URLs it holds
// (kept until shortly before they expire), and which parts are on S3.
import { hashPool, hexToBase64 } from './hashing.js'

// Parts hashed and signed ahead of the part starting: enough that a part rarely waits for a
// signing round trip, few enough that the URLs do not age and memory stays small.
const AHEAD = 16

export class UploadParts {
  // `expiryMarginMs`: a URL is signed again when it would expire within this margin (the
  // server's), or within a fifth of its life when URLs live shorter than five margins.
  constructor({ api, upload, data, lookahead = AHEAD, maxBatch, expiryMarginMs }) {
    this.api = api
    this.batch = maxBatch
    this.expiryMarginMs = expiryMarginMs
    this.upload = upload
    this.data = data
    this.lookahead = Math.max(lookahead, AHEAD)
    this.digests = new Map() // part number -> Promise<{sha256}>
    this.resumeDigests = new Map() // part number -> Promise<{sha256, md5}>, held parts only
    this.urls = new Map() // part number -> {url, headers, expiresAt, ttl}
    this.waiting = new Map() // part number -> {promise, resolve, reject}: to be signed
    this.ready = new Set() // hashed parts waiting for the next signing call
    this.signing = null // the signing call under way; one at a time, each takes what is ready
    this.stored = new Map() // part number -> ETag, for parts known to be on S3 as this content
    // For the upload's analytics: part transfers sent again, and whether this page carries on
    // an upload that an earlier one left unfinished.
    this.retried = 0
    this.resumed = false
    // Parts sent where S3 already holds another copy: signed with their MD5 as well, so that the
    // server can tell the new copy from the old one (some S3 servers list both).
    this.replacing = new Set()
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
    return Math.max(0, Math.min(this.upload.size, partNumber * this.upload.part_size) - (partNumber - 1) * this.upload.part_size)
  }

  digest(partNumber, blob) {
    let promise = this.digests.get(partNumber) ?? this.resumeDigests.get(partNumber)
    if (!promise) {
      promise = hashPool.hash(blob ?? this.blob(partNumber))
      promise.catch(() => this.digests.delete(partNumber))
      this.digests.set(partNumber, promise)
    }
    return promise
  }

  // SHA-256 and MD5 of a part S3 already holds, to prove it is this file's part.
  #resumeDigest(partNumber) {
    let promise = this.resumeDigests.get(partNumber)
    if (!promise) {
      promise = hashPool.hash(this.blob(partNumber), { md5: true })
      promise.catch(() => this.resumeDigests.delete(partNumber))
      this.resumeDigests.set(partNumber, promise)
    }
    return promise
  }

  #fresh(entry) {
    if (!entry) return false
    const margin = Math.min(this.expiryMarginMs, entry.ttl / 5)
    return entry.expiresAt - Date.now() > margin
  }

  #needsSigning(partNumber) {
    return !this.stored.has(partNumber)
      && !this.waiting.has(partNumber)
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
    // for less time than a signing call takes.
    for (let round = 0; round < 4; round++) {
      const entry = this.urls.get(partNumber)
      // This part's own hash is queued before those of the parts after it.
      const signed = this.#fresh(entry) ? null : this.#signed(partNumber, body)
      this.#prepareAfter(partNumber)
      if (!signed) return entry
      await signed
    }
    throw new Error(`Part ${partNumber}: the signed URLs expire before they can be used.`)
  }

  // Hash and sign the next parts before they are asked for.
  #prepareAfter(partNumber) {
    const last = Math.min(this.partCount, partNumber + this.lookahead)
    for (let n = partNumber + 1; n <= last; n++) {
      if (this.#needsSigning(n)) this.#signed(n).catch(() => {}) // the part itself will ask again
    }
  }

  // Settles once part `n` has a fresh URL. A part joins the next signing call as soon as its
  // hash exists, so the first part is signed alone, without waiting for the others' hashes.
  #signed(n, blob) {
    const known = this.waiting.get(n)
    if (known) return known.promise
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    this.waiting.set(n, { promise, resolve, reject })
    this.digest(n, blob).then(
      () => {
        this.ready.add(n)
        this.#sendReady()
      },
      (error) => this.#settle([n], error),
    )
    return promise
  }

  #settle(numbers, error) {
    for (const n of numbers) {
      const entry = this.waiting.get(n)
      this.waiting.delete(n)
      if (error) entry?.reject(error)
      else entry?.resolve()
    }
  }

  #sendReady() {
    if (this.signing || this.ready.size === 0) return
    const numbers = [...this.ready].sort((a, b) => a - b).slice(0, this.batch)
    for (const n of numbers) this.ready.delete(n)
    this.signing = this.#sign(numbers).then(
      () => this.#settle(numbers),
      (error) => this.#settle(numbers, error),
    ).finally(() => {
      this.signing = null
      this.#sendReady()
    })
  }

  async #sign(numbers) {
    const parts = await Promise.all(numbers.map(async (n) => {
      if (this.replacing.has(n)) {
        const { sha256, md5 } = await this.#resumeDigest(n)
        return { part_number: n, checksum_sha256: sha256, content_md5: md5 }
      }
      const { sha256 } = await this.digest(n)
      return { part_number: n, checksum_sha256: sha256 }
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
  }

  // The parts S3 holds that may be skipped: S3's ETag (the MD5 of what it holds) is this file's
  // part's MD5, or the server proved the held content with an MD5 signed beside its checksum;
  // and the SHA-256 last signed for the part is this file's part's, so completion lists the
  // checksum of what S3 holds. Anything else is sent again.
  async provenParts(heldParts) {
    const proven = new Map(this.stored)
    await Promise.all(heldParts.map(async (held) => {
      const n = held.part_number
      if (proven.has(n) || n > this.partCount) return
      this.replacing.add(n)
      if (!held.checksum_sha256 || held.size !== this.partLength(n)) return
      const local = held.verified ? await this.digest(n) : await this.#resumeDigest(n)
      if (local.sha256 !== held.checksum_sha256) return
      if (held.verified || local.md5 === hexToBase64(held.etag)) {
        proven.set(n, held.etag)
        this.replacing.delete(n)
      }
    }))
    for (const [n, etag] of proven) this.stored.set(n, etag)
    return proven
  }
}

export function warmHashing() {
  hashPool.warm()
}

// Uppy repaints its Dashboard for every progress event (each part's request fires several a
// second): pass on a part's progress a few times a second, and always its start and end.
export function throttledProgress(onProgress, size, everyMs = 250) {
  if (!onProgress) return onProgress
  let last = 0
  return (event) => {
    const now = performance.now()
    const edge = !event?.loaded || event.loaded >= size
    if (!edge && now - last < everyMs) return
    last = now
    onProgress(event)
  }
}

// The round trip to the site, for the server to plan parts for this link. A TCP handshake takes
// one round trip, so the page's own connections to the site say it best (the page's navigation,
// or an API call that opened a connection; the longest, since a connection the browser began
// before the request was attached to it shows only its end); otherwise the shortest time to
// the first byte of an API answer (server time included, so never shorter than the round trip).
export function measuredRoundTrip(apiBase) {
  if (typeof performance === 'undefined' || !performance.getEntriesByType) return undefined
  const origin = new URL(apiBase, document.baseURI).origin
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
    .filter((entry) => entry.name.startsWith(origin))
  const handshakes = entries
    .map((entry) => (entry.secureConnectionStart || entry.connectEnd) - entry.connectStart)
    .filter((ms) => ms > 0)
  const base = new URL(apiBase, document.baseURI).href
  const firstBytes = entries
    .filter((entry) => entry.name.startsWith(base) && entry.requestStart > 0 && entry.responseStart > 0)
    .map((entry) => entry.responseStart - entry.requestStart)
  if (handshakes.length) return Math.max(1, Math.round(Math.max(...handshakes)))
  return firstBytes.length ? Math.max(1, Math.round(Math.min(...firstBytes))) : undefined
}
