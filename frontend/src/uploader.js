// S7's browser uploader: Uppy's Dashboard and its S3 multipart plugin (5.x, the line that still
// takes create/sign/list/complete/abort callbacks), wired to S7's upload API instead of Companion.
//
// It mounts itself beside every <input data-s7-upload data-purpose="..."> (UploadWidget) and
// puts the upload's id in that input once the server says the upload is ready. With
// data-multiple it takes many files, and submits the input's form in the background once per
// file, with that file's upload id, as soon as the file is ready and in the order files were added.
import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import { Api, ApiError, RETRY_DELAYS, sleep } from './api.js'
import { UploadParts, measuredRoundTrip, throttledProgress, warmHashing } from './parts.js'

const PARALLEL_PARTS = 6
const MAX_URL_REFRESHES = 3
const PLACEHOLDER_ID = '00000000-0000-0000-0000-000000000000'

let serverRules = null

// The server's rules: each purpose's limits and words for each stage, which states are final,
// parts per signing call, when to report, poll and retry. Every field on the page shares one
// answer; none is copied here. The timings come in seconds and are kept in ms.
function loadRules(api) {
  const ms = (seconds) => seconds * 1000
  serverRules ??= api.get('purposes/', { untilConnected: false }).then(({ data }) => ({
    ...data,
    purposes: new Map(data.purposes.map((p) => [p.name, p])),
    timings: {
      progressReportMs: ms(data.timings.progress_report_interval),
      statusPollMs: data.timings.status_poll_delays.map(ms),
      outageRecheckMs: data.timings.outage_recheck_delays.map(ms),
      expiryMarginMs: ms(data.timings.expiry_margin),
    },
  }))
  return serverRules
}

export function formatBytes(bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  const shown = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1)
  return `${shown} ${units[unit]}`
}

function extensionOf(name) {
  // Like Python's os.path.splitext: leading dots belong to the name, not the extension.
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || /^\.+$/.test(name.slice(0, dot))) return ''
  return name.slice(dot).toLowerCase()
}

// Why the purpose refuses the file, as a sentence; null when it may be uploaded.
export function refusal(file, purpose) {
  const name = `“${file.name}”`
  const extension = extensionOf(file.name)
  if (!purpose.extensions.includes(extension)) {
    const kind = extension ? `${extension} files` : 'files without an extension'
    return `${name} cannot be uploaded here: ${kind} are not accepted. Accepted: ${purpose.extensions.join(', ')}.`
  }
  const type = file.type || 'application/octet-stream'
  if (purpose.content_types && !purpose.content_types.includes(type)) {
    return `${name} cannot be uploaded here: its type, ${type}, is not accepted.`
  }
  if (!file.size) return `${name} is empty; there is nothing to upload.`
  if (file.size > purpose.max_size) {
    return `${name} is too large: it is ${formatBytes(file.size)}, and files here may be at most ${formatBytes(purpose.max_size)}.`
  }
  return null
}

function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value)
  if (text) node.textContent = text
  return node
}

class FieldUploader {
  constructor(input) {
    this.input = input
    this.purposeName = input.dataset.purpose
    this.api = new Api(input.dataset.api || '/api/uploads/')
    this.previewUrl = input.dataset.previewUrl || ''
    this.previewName = input.dataset.previewRendition || ''
    this.uploads = new Map() // Uppy file id -> the server's upload
    this.parts = new Map() // server upload id -> UploadParts
    this.plans = new WeakMap() // file Blob -> server upload (getChunkSize is handed the Blob)
    this.lastReport = new Map() // server upload id -> time of the last progress report
    this.multiple = 'multiple' in input.dataset
    this.readiness = new Map() // Uppy file id -> resolves with its ready upload, or null
    this.submitting = Promise.resolve() // the chain of background submits, in the order added
    this.pending = 0 // files added and not yet submitted or given up
    this.added = 0
    this.failed = false
    this.createdHere = new Set() // server upload ids this page created: S3 holds none of their parts yet

    this.root = element('div', { class: 's7-uploader', id: `${input.id || input.name}-uploader`, 'data-s7-state': 'loading' })
    this.dashboard = element('div', { class: 's7-uploader-dashboard' })
    this.meter = element('progress', { class: 's7-upload-progress', max: '100', value: '0' })
    this.status = element('p', { class: 's7-upload-status', role: 'status', 'aria-live': 'polite' })
    this.preview = element('div', { class: 's7-upload-preview' })
    this.root.append(this.dashboard, this.meter, this.status, this.preview)
    input.after(this.root)

    this.uppy = new Uppy({
      id: `s7-${input.name}`,
      autoProceed: true,
      restrictions: { maxNumberOfFiles: this.multiple ? null : 1 },
      onBeforeFileAdded: (file) => this.#accepts(file),
    })
    this.uppy.use(Dashboard, {
      inline: true,
      target: this.dashboard,
      height: 300,
      width: '100%',
      disabled: true,
      showProgressDetails: true,
      proudlyDisplayPoweredByUppy: false,
      showRemoveButtonAfterComplete: true,
    })
    this.uppy.use(AwsS3, {
      limit: PARALLEL_PARTS,
      shouldUseMultipart: true,
      getChunkSize: (data) => this.#planFor(data).part_size,
      createMultipartUpload: (file) => this.#createMultipartUpload(file),
      listParts: (file, options) => this.#listParts(file, options),
      signPart: (file, options) => this.#signPart(file, options),
      uploadPartBytes: (options) => this.#uploadPartBytes(options),
      completeMultipartUpload: (file, options) => this.#complete(file, options),
      abortMultipartUpload: (file, options) => this.#abort(file, options),
    })
    this.uppy.addPreProcessor((fileIDs) => this.#prepare(fileIDs))
    this.uppy.addPostProcessor((fileIDs) => this.#awaitProcessing(fileIDs))
    this.api.connection.watch((down) => this.#connectionChanged(down))
    this.#listen()
    this.#start()
  }

  // --- What the person sees ---------------------------------------------------------------

  #show(state, message) {
    this.root.dataset.s7State = state
    this.status.textContent = message
  }

  #showPercent(percent) {
    this.meter.value = percent
    this.meter.textContent = `${percent}%`
    this.root.dataset.s7Percent = String(percent)
  }

  #showReady(upload) {
    this.input.value = upload.id
    this.input.dispatchEvent(new Event('change', { bubbles: true }))
    this.#showPercent(100)
    this.#show('ready', `Ready: “${upload.filename}” (${formatBytes(upload.size)}) is uploaded and verified.`)
    this.preview.replaceChildren()
    const preview = upload.result?.renditions?.[this.previewName]
    if (preview && this.previewUrl) {
      const img = element('img', {
        class: 's7-upload-thumb',
        src: this.previewUrl.replace(PLACEHOLDER_ID, upload.id),
        alt: `Preview of ${upload.filename}`,
        ...(preview.width && { width: String(preview.width), height: String(preview.height) }),
      })
      this.preview.append(img)
    }
  }

  #stageText(stage) {
    return this.purpose.stages[stage] ?? this.rules.stages[stage] ?? ''
  }

  #ended(state) {
    return this.rules.final_states.includes(state)
  }

  #fail(message) {
    this.input.value = ''
    this.#show('failed', message)
  }

  async #start() {
    try {
      this.rules = await loadRules(this.api)
      this.purpose = this.rules.purposes.get(this.purposeName)
      this.api.connection.recheckDelays = this.rules.timings.outageRecheckMs
    } catch (error) {
      this.#show('failed', `The uploader could not load its limits (${error.message}). Reload the page to try again.`)
      return
    }
    if (!this.purpose) {
      this.#show('failed', `This page asks for uploads of an unknown kind (“${this.purposeName}”).`)
      return
    }
    this.uppy.getPlugin('Dashboard').setOptions({
      disabled: false,
      note: `${this.purpose.description} At most ${formatBytes(this.purpose.max_size)}.`,
    })
    this.#show('idle', '')
    if (this.input.value) await this.#showExisting(this.input.value)
  }

  // A form shown again (after an error elsewhere) keeps the upload already chosen.
  async #showExisting(uploadId) {
    try {
      const { data } = await this.api.get(`${encodeURIComponent(uploadId)}/`)
      if (data.state === 'ready') this.#showReady(data)
    } catch {
      this.input.value = ''
    }
  }

  #accepts(file) {
    const problem = this.purpose ? refusal(file, this.purpose) : 'The uploader is still loading its limits.'
    if (problem) {
      this.#show('rejected', problem)
      this.uppy.info(problem, 'error', 10_000)
      return false
    }
    return true
  }

  #listen() {
    const uppy = this.uppy
    uppy.on('upload-progress', (file, progress) => {
      const upload = this.uploads.get(file?.id)
      if (!upload || !progress.bytesTotal) return
      const percent = Math.floor((100 * progress.bytesUploaded) / progress.bytesTotal)
      this.#showPercent(percent)
      if (this.root.dataset.s7State === 'uploading') {
        this.status.textContent = `Uploading “${file.name}”: ${percent}% (${formatBytes(progress.bytesUploaded)} of ${formatBytes(progress.bytesTotal)}).`
      }
      this.#report(upload, progress.bytesUploaded)
    })
    uppy.on('upload-success', (file) => {
      this.#showPercent(100)
      this.#show('processing', `Uploaded 100% of “${file.name}”. ${this.#stageText('verifying')}`)
    })
    uppy.on('upload-pause', (file, isPaused) => {
      if (isPaused) this.#show('paused', `Paused “${file.name}” at ${this.meter.value}%. Resume whenever you like, even after reloading the page.`)
      else this.#show('uploading', `Resuming “${file.name}”…`)
    })
    uppy.on('upload-error', (file, error) => {
      if (this.multiple) this.failed = true
      this.readiness.get(file?.id)?.resolve(null)
      this.#fail(error?.message || 'The upload failed.')
    })
    if (this.multiple) uppy.on('file-added', (file) => this.#queueSubmit(file))
    uppy.on('file-removed', (file) => {
      this.readiness.get(file?.id)?.resolve(null)
      this.input.value = ''
      this.preview.replaceChildren()
      this.#showPercent(0)
      this.#show('idle', '')
    })
  }

  // --- Many files: each submits the form on its own once ready, in the order added ---------

  #queueSubmit(file) {
    let resolve
    const ready = new Promise((done) => { resolve = done })
    this.readiness.set(file.id, { resolve })
    this.pending++
    this.submitting = this.submitting
      .then(() => ready)
      .then((upload) => upload && this.#submitOne(file, upload))
      .catch((error) => this.#submitFailed(file.name, error.message))
      .finally(() => this.#settled())
  }

  async #submitOne(file, upload) {
    const form = this.input.form
    const body = new FormData(form)
    body.set(this.input.name, upload.id)
    // The form answers a redirect when it took the file (post/redirect/get), a page when not.
    const response = await fetch(form.action || location.href, { method: 'POST', body, redirect: 'manual', credentials: 'same-origin' })
    if (response.type !== 'opaqueredirect') throw new Error(`the page answered ${response.status}`)
    this.added++
    this.#show('ready', `Added “${upload.filename}” (${this.added} so far).`)
  }

  #submitFailed(name, why) {
    this.failed = true
    this.#show('failed', `“${name}” was uploaded but could not be added (${why}). Reload the page and try again.`)
  }

  // Once every file has been added, the page shows them where they now are.
  #settled() {
    this.pending--
    if (this.pending === 0 && this.added && !this.failed) location.reload()
  }

  // Bytes sent, for the server's progress record: a few times a minute at most.
  #report(upload, bytes) {
    const now = Date.now()
    if (now - (this.lastReport.get(upload.id) ?? 0) < this.rules.timings.progressReportMs) return
    this.lastReport.set(upload.id, now)
    this.api.post(`${upload.id}/progress/`, { bytes_uploaded: bytes, ...this.#counters(upload.id) }, { retries: [], untilConnected: false }).catch(() => {})
  }

  // What the analytics page counts: retried part transfers and resumes.
  #counters(uploadId) {
    const parts = this.parts.get(uploadId)
    return parts ? { parts_retried: parts.retried, resumed: parts.resumed } : {}
  }

  // --- Before parts: find the unfinished upload of this very file, or start one -----------

  async #prepare(fileIDs) {
    warmHashing()
    for (const fileID of fileIDs) {
      const file = this.uppy.getFile(fileID)
      if (!file || file.error) continue
      this.uppy.emit('preprocess-progress', file, { mode: 'indeterminate', message: 'Looking for an unfinished upload of this file…' })
      this.#show('checking', `Looking for an unfinished upload of “${file.name}”…`)
      try {
        const upload = await this.#serverUploadFor(file)
        this.uploads.set(file.id, upload)
        this.plans.set(file.data, upload)
        if (!this.parts.has(upload.id)) this.parts.set(upload.id, this.#partsOf(upload, file))
        // With an upload id and key in its state, the S3 plugin resumes: it lists the parts
        // already stored (our listParts keeps only the proven ones) and sends the others.
        this.uppy.setFileState(file.id, { s3Multipart: { uploadId: upload.id, key: upload.key } })
        this.#show('uploading', `Uploading “${file.name}”…`)
      } catch (error) {
        this.uppy.emit('upload-error', this.uppy.getFile(fileID), error)
      } finally {
        const current = this.uppy.getFile(fileID)
        if (current) this.uppy.emit('preprocess-complete', current)
      }
    }
  }

  async #serverUploadFor(file) {
    const known = this.uploads.get(file.id)
    if (known) {
      // Retrying in the same page: carry on with the same upload while it is open.
      const { data } = await this.api.get(`${known.id}/`)
      if (data.state === 'uploading') return data
    }
    const query = new URLSearchParams({
      state: 'uploading',
      purpose: this.purposeName,
      filename: file.name,
      size: String(file.size),
    })
    const { data: candidates } = await this.api.get(`?${query}`)
    // The newest upload of this very file, chosen by the Python client's rule too. One that
    // expires within the margin is left alone.
    for (const candidate of candidates) {
      if (Date.parse(candidate.expires_at) <= Date.now() + this.rules.timings.expiryMarginMs) continue
      const { data: detail } = await this.api.get(`${candidate.id}/`)
      // Same name and size prove nothing: resume only an upload holding a part whose content
      // is provably this file's. Another file of the same name and size starts afresh.
      const first = detail.uploaded_parts.find((part) => part.checksum_sha256)
      if (!first || detail.state !== 'uploading') continue
      const parts = this.#partsOf(detail, file)
      if ((await parts.provenParts([first])).size > 0) {
        parts.resumed = true
        this.parts.set(detail.id, parts)
        return detail
      }
    }
    const { data } = await this.api.post('', {
      filename: file.name,
      size: file.size,
      content_type: file.type || 'application/octet-stream',
      purpose: this.purposeName,
      round_trip_ms: measuredRoundTrip(this.api.base),
    })
    this.createdHere.add(data.id)
    return data
  }

  #partsOf(upload, file) {
    return new UploadParts({
      api: this.api,
      upload,
      data: file.data,
      lookahead: PARALLEL_PARTS,
      maxBatch: this.rules.max_parts_per_signing,
      expiryMarginMs: this.rules.timings.expiryMarginMs,
    })
  }

  #planFor(data) {
    const upload = this.plans.get(data)
    // The parts must be cut exactly as the server planned, or S3 refuses them.
    if (!upload) throw new Error('No upload plan for this file: the uploader skipped a step.')
    return upload
  }

  // --- The S3 plugin's callbacks -----------------------------------------------------------

  async #createMultipartUpload(file) {
    const upload = this.uploads.get(file.id)
    if (!upload) throw new Error('The upload was not created before its parts.')
    return { uploadId: upload.id, key: upload.key }
  }

  async #listParts(file, { uploadId, signal }) {
    if (this.createdHere.delete(uploadId)) return [] // just created: nothing to ask S3 about
    const { data } = await this.api.get(`${uploadId}/`, { signal })
    if (data.state !== 'uploading') {
      throw new ApiError(`This upload is ${data.state}; it can no longer take parts.`)
    }
    const parts = this.parts.get(uploadId)
    const alreadyHere = parts.stored.size
    const proven = await parts.provenParts(data.uploaded_parts)
    this.root.dataset.s7ResumedParts = String(proven.size)
    if (proven.size > alreadyHere && proven.size < parts.partCount) {
      this.#show('uploading', `Resuming “${file.name}”: ${proven.size} of ${parts.partCount} parts are already stored.`)
    }
    return [...proven].map(([number, etag]) => ({ PartNumber: number, ETag: etag, Size: parts.partLength(number) }))
  }

  async #signPart(file, { uploadId, partNumber, body }) {
    const parts = this.parts.get(uploadId)
    const signed = await parts.urlFor(partNumber, body)
    return { url: signed.url, method: 'PUT', headers: signed.headers, parts, partNumber }
  }

  // Sends one part; tries again on network errors and 5xx with backoff, and with a fresh URL
  // when S3 refuses the signed one (403: it expired while it waited, or a clock moved).
  async #uploadPartBytes({ signature, body, size, onProgress, onComplete, signal }) {
    const { parts, partNumber } = signature
    const reportProgress = throttledProgress(onProgress, size)
    let current = signature
    let failures = 0
    let refreshes = 0
    for (;;) {
      try {
        return await AwsS3.uploadPartBytes({
          signature: current,
          body,
          size,
          signal,
          onProgress: reportProgress,
          onComplete: (etag) => {
            parts.markStored(partNumber, String(etag).replaceAll('"', ''))
            onComplete?.(etag)
          },
        })
      } catch (error) {
        if (signal?.aborted || error?.name === 'AbortError') throw error
        const status = error?.source?.status ?? 0
        onProgress?.({ loaded: 0, lengthComputable: true })
        if (status === 0 && await this.#waitOutOutage(signal)) {
          parts.retried++
          continue
        }
        if (status === 403 && refreshes < MAX_URL_REFRESHES) {
          refreshes++
          parts.retried++
          parts.forget(partNumber)
          const fresh = await parts.urlFor(partNumber, body)
          current = { url: fresh.url, method: 'PUT', headers: fresh.headers }
          continue
        }
        const transient = status === 0 || status === 408 || status === 429 || status >= 500
        if (transient && failures < RETRY_DELAYS.length) {
          parts.retried++
          const jitter = 0.75 + Math.random() / 2
          await sleep(RETRY_DELAYS[failures++] * jitter, signal)
          continue
        }
        const why = status ? `storage answered ${status}` : 'the connection failed'
        // No `source` on this error: the plugin must not retry what we already retried.
        throw new Error(`Part ${partNumber} could not be sent (${why}). Press retry to go on from where it stopped.`)
      }
    }
  }

  // --- Outages of the connection: wait them out, however long, and say so -----------------

  // When the part failed because the connection is down, waits until it is back (true): the
  // part is then sent again, spending none of its retries. Only the parts in flight when the
  // connection went are sent twice; the others wait for a free slot.
  async #waitOutOutage(signal) {
    if (!(await this.api.connection.isDown())) return false
    await this.api.connection.untilBack(signal)
    return true
  }

  #connectionChanged(down) {
    const state = this.root.dataset.s7State
    if (down && ['checking', 'uploading', 'processing'].includes(state)) {
      this.beforeOutage = { state, message: this.status.textContent }
      this.#show('offline', `Waiting for the connection to come back (${this.meter.value}% sent). The upload goes on by itself from where it stopped; there is nothing to press.`)
    } else if (!down && this.beforeOutage) {
      const { state: before, message } = this.beforeOutage
      this.beforeOutage = null
      if (state === 'offline') this.#show(before, before === 'uploading' ? `Connected again; uploading the rest of the file…` : message)
    }
  }

  async #complete(file, { uploadId, parts, signal }) {
    this.#show('processing', `Uploaded 100% of “${file.name}”. ${this.#stageText('completing')}`)
    const { data } = await this.api.post(`${uploadId}/complete/`, {
      parts: parts.map((part) => ({ part_number: part.PartNumber, etag: String(part.ETag).replaceAll('"', '') })),
      ...this.#counters(uploadId),
    }, { signal })
    this.uploads.set(file.id, data)
    return { uploadId, state: data.state }
  }

  async #abort(file, { uploadId }) {
    this.uploads.delete(file.id)
    this.parts.delete(uploadId)
    try {
      await this.api.delete(`${uploadId}/`)
    } catch (error) {
      if (![404, 409].includes(error.status)) throw error
    }
  }

  // --- After S3: the worker verifies and processes; follow it until ready or failed -------

  async #awaitProcessing(fileIDs) {
    for (const fileID of fileIDs) {
      const file = this.uppy.getFile(fileID)
      const upload = this.uploads.get(fileID)
      if (!file || file.error || !upload) continue
      try {
        const final = await this.#follow(file, upload)
        if (final.state === 'ready' && this.multiple) {
          this.readiness.get(fileID)?.resolve(final)
        } else if (final.state === 'ready') {
          this.#showReady(final)
        } else {
          const reason = final.error || `The upload was ${final.state}.`
          this.uppy.emit('upload-error', this.uppy.getFile(fileID), new Error(reason))
        }
      } catch (error) {
        this.uppy.emit('upload-error', this.uppy.getFile(fileID), error)
      } finally {
        const current = this.uppy.getFile(fileID)
        if (current) this.uppy.emit('postprocess-complete', current)
      }
    }
  }

  // Asks for the upload's progress until it ends, at growing intervals.
  async #follow(file, upload) {
    const delays = this.rules.timings.statusPollMs
    let state = upload.state
    for (let poll = 0; !this.#ended(state); poll++) {
      await sleep(delays[Math.min(poll, delays.length - 1)])
      const { data: progress } = await this.api.get(`${upload.id}/progress/`)
      state = progress.state
      const stage = this.#stageText(progress.stage)
      if (!this.#ended(state)) {
        this.root.dataset.s7Stage = progress.stage
        this.#show('processing', `Uploaded 100% of “${file.name}”. ${stage}`)
        this.uppy.emit('postprocess-progress', this.uppy.getFile(file.id), { mode: 'indeterminate', message: stage })
      }
    }
    const { data } = await this.api.get(`${upload.id}/`)
    return data
  }
}

function mountAll() {
  for (const input of document.querySelectorAll('input[data-s7-upload]')) {
    if (!input.s7Uploader) input.s7Uploader = new FieldUploader(input)
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mountAll)
else mountAll()

window.S7Uploader = { mountAll }
