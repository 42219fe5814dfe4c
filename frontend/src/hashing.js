// Hashing parts in Web Workers, so that the page's main thread only sends bytes and repaints.
// Each part's SHA-256 is signed into its URL so S3 refuses other bytes. Its MD5 (which S3 gives
// back as the part's ETag) is computed only on resume, for parts S3 already holds: equal MD5 and
// SHA-256 prove that the held part is this file's, so it need not be sent again.
import { digestBlob } from './digest.js'

// The script that loaded the uploader; its folder also holds the worker's script.
const loaderUrl = typeof document !== 'undefined' ? document.currentScript?.src : undefined

function workerUrl() {
  // The widget names the worker's static URL (hashed by collectstatic in production).
  const named = document.querySelector('[data-s7-hash-worker]')?.dataset.s7HashWorker
  if (named) return new URL(named, document.baseURI).href
  return loaderUrl ? new URL('hash-worker.js', loaderUrl).href : null
}

export function hexToBase64(hex) {
  const pairs = hex.match(/../g) ?? []
  return btoa(String.fromCharCode(...pairs.map((pair) => parseInt(pair, 16))))
}

// Workers hash one part each at a time; more workers than cores would only take turns with the
// page and the network. Where workers cannot start (no URL, a strict CSP), parts are hashed on
// the main thread, as before.
class HashPool {
  constructor(size) {
    this.size = size
    this.idle = []
    this.workers = 0
    this.queue = []
    this.jobs = new Map() // job id -> {resolve, reject}
    this.nextId = 1
    this.broken = false
  }

  // Start the workers before the first part is known, while the page talks to the server.
  warm() {
    if (this.broken || typeof Worker === 'undefined') return
    while (this.workers < this.size) {
      const worker = this.#spawn()
      if (!worker) return
      this.idle.push(worker)
    }
  }

  hash(blob, { md5 = false } = {}) {
    if (this.broken || typeof Worker === 'undefined') return digestBlob(blob, { md5 })
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, blob, md5, resolve, reject })
      this.#pump()
    })
  }

  #pump() {
    while (this.queue.length) {
      const worker = this.idle.pop() ?? this.#spawn()
      if (!worker) return
      const job = this.queue.shift()
      this.jobs.set(job.id, { ...job, worker })
      worker.postMessage({ id: job.id, blob: job.blob, md5: job.md5 })
    }
  }

  #spawn() {
    if (this.workers >= this.size) return null
    let worker
    try {
      const url = workerUrl()
      if (!url) throw new Error('no worker URL')
      worker = new Worker(url)
    } catch {
      this.#fallBack()
      return null
    }
    this.workers++
    worker.onmessage = ({ data }) => {
      const job = this.jobs.get(data.id)
      this.jobs.delete(data.id)
      this.idle.push(worker)
      if (data.error) job?.reject(new Error(`Hashing failed: ${data.error}`))
      else job?.resolve({ sha256: data.sha256, ...(data.md5 && { md5: data.md5 }) })
      this.#pump()
    }
    // A worker that cannot load its script: hash everything on the main thread instead.
    worker.onerror = (event) => {
      event.preventDefault?.()
      worker.terminate()
      this.#fallBack()
    }
    return worker
  }

  #fallBack() {
    this.broken = true
    const orphans = [...this.jobs.values(), ...this.queue]
    this.jobs.clear()
    this.queue = []
    for (const job of orphans) digestBlob(job.blob, { md5: job.md5 }).then(job.resolve, job.reject)
  }
}

const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency || 2 : 2
export const hashPool = new HashPool(Math.max(1, Math.min(4, cores)))
