// S7's upload API as the uploader calls it: session auth with Django's CSRF token, JSON in and
// out, and retries with backoff where trying again can help (network errors, 5xx, throttling).
// Through an outage of the connection a call waits, however long it lasts, and is sent again.
import { Connection } from './connection.js'

// Known before the server's rules are: the call that asks for them needs them.
export const RETRY_DELAYS = [500, 1000, 2000, 4000, 8000]

export class ApiError extends Error {
  constructor(message, { status = 0, body = null } = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.body = body
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  if (match) return decodeURIComponent(match[1])
  // CSRF_COOKIE_HTTPONLY hides the cookie; the form's token is then the one to send.
  return document.querySelector('input[name=csrfmiddlewaretoken]')?.value ?? ''
}

export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new DOMException('Aborted', 'AbortError'))
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'))
    }, { once: true })
  })
}

// The first human sentence in a DRF error body: {"detail": ...} or {"field": ["..."]}.
export function messageOf(body, fallback) {
  if (body == null) return fallback
  if (typeof body === 'string') return body
  if (Array.isArray(body)) return body.length ? messageOf(body[0], fallback) : fallback
  if (typeof body === 'object') {
    if (body.detail) return messageOf(body.detail, fallback)
    for (const value of Object.values(body)) {
      const found = messageOf(value, null)
      if (found) return found
    }
  }
  return fallback
}

function retryable(status, response) {
  if (status >= 500) return true
  // A throttle answers 429 with Retry-After; "too many open uploads" is a 429 without it.
  return status === 429 && response?.headers.has('Retry-After')
}

export class Api {
  constructor(base) {
    this.base = base.endsWith('/') ? base : `${base}/`
    this.connection = new Connection(`${this.base}purposes/`)
  }

  // `untilConnected: false` for a call that is only a hint (a progress report): it is dropped
  // rather than kept waiting through an outage. So is any call before the server's rules say
  // how to wait one out.
  async request(method, path, { body, signal, retries = RETRY_DELAYS, untilConnected = true } = {}) {
    const url = this.base + path
    for (let attempt = 0; ; attempt++) {
      let response
      const startedAt = Date.now()
      try {
        response = await fetch(url, {
          method,
          credentials: 'same-origin',
          headers: {
            Accept: 'application/json',
            ...(body !== undefined && { 'Content-Type': 'application/json' }),
            ...(method !== 'GET' && { 'X-CSRFToken': csrfToken() }),
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal,
        })
      } catch (error) {
        if (untilConnected && this.connection.recheckDelays.length && !signal?.aborted && error?.name !== 'AbortError' && await this.connection.isDown()) {
          await this.connection.untilBack(signal)
          attempt-- // an outage spends none of the retries
          continue
        }
        if (signal?.aborted || attempt >= retries.length) {
          if (error?.name === 'AbortError') throw error
          throw new ApiError('The site could not be reached; check your connection and try again.')
        }
        await sleep(retries[attempt], signal)
        continue
      }
      if (retryable(response.status, response) && attempt < retries.length) {
        const after = Number(response.headers.get('Retry-After')) * 1000
        await sleep(Math.max(retries[attempt], Number.isFinite(after) ? after : 0), signal)
        continue
      }
      const text = await response.text()
      let data = null
      try {
        data = text ? JSON.parse(text) : null
      } catch {
        data = null
      }
      if (!response.ok) {
        const fallback = response.status === 403
          ? 'You are not signed in any more; sign in again and retry.'
          : `The site answered ${response.status}; try again shortly.`
        throw new ApiError(messageOf(data, fallback), { status: response.status, body: data })
      }
      return { data, response, startedAt }
    }
  }

  get(path, options) {
    return this.request('GET', path, options)
  }

  post(path, body, options) {
    return this.request('POST', path, { ...options, body: body ?? {} })
  }

  delete(path, options) {
    return this.request('DELETE', path, options)
  }
}
