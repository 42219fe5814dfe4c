// The person's connection. An outage lasts as long as it lasts, so nothing that waits for the
// connection gives up: it waits for the browser's `online` event, and asks the site again at
// growing intervals, since a link that fails beyond the first hop leaves the browser "online".

export class Connection {
  constructor(probeUrl) {
    this.probeUrl = probeUrl
    this.outage = null // while one lasts: settles when the connection is back
    this.probing = null
    this.listeners = new Set()
    // When to ask the site again, in ms: the server's timings, set once its rules are loaded.
    this.recheckDelays = []
  }

  // `listener(true)` as an outage starts, `listener(false)` as it ends.
  watch(listener) {
    this.listeners.add(listener)
  }

  // Whether a request that got no answer at all failed because the connection is down: the
  // browser says it is offline, or the site does not answer either. A storage server that
  // alone fails to answer is not an outage of the connection, and keeps its capped retries.
  async isDown() {
    if (this.outage || navigator.onLine === false) return true
    this.probing ??= this.#reachable().finally(() => { this.probing = null })
    return !(await this.probing)
  }

  // Settles once the connection is back; every caller waiting at once shares one outage.
  untilBack(signal) {
    if (!this.outage) {
      this.outage = this.#waitForReturn().finally(() => {
        this.outage = null
        this.#tell(false)
      })
      this.#tell(true)
    }
    return abortable(this.outage, signal)
  }

  async #waitForReturn() {
    for (let attempt = 0; ; attempt++) {
      const delays = this.recheckDelays
      await onlineOrAfter(delays[Math.min(attempt, delays.length - 1)])
      if (navigator.onLine !== false && await this.#reachable()) return
    }
  }

  async #reachable() {
    try {
      // Any answer, even an error status, means the connection carries requests again.
      await fetch(this.probeUrl, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' })
      return true
    } catch {
      return false
    }
  }

  #tell(down) {
    for (const listener of this.listeners) listener(down)
  }
}

function onlineOrAfter(ms) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      window.removeEventListener('online', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    window.addEventListener('online', done)
  })
}

function abortable(promise, signal) {
  if (!signal) return promise
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason ?? new DOMException('Aborted', 'AbortError'))
    if (signal.aborted) return abort()
    signal.addEventListener('abort', abort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort))
  })
}
