// Stock Uppy: Dashboard and @uppy/aws-s3 5.x with the plugin's own part handling, signing each
// part without a checksum through the bench's minimal endpoints. Built by the bench, not by
// `make frontend`; it shares S7's node_modules (the same Uppy versions).
import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'

const partSize = Number(new URLSearchParams(location.search).get('part_size')) || 8 * 1024 * 1024

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  return match ? decodeURIComponent(match[1]) : ''
}

async function call(path, body) {
  const response = await fetch(`/bench/stock/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${path} answered ${response.status}`)
  return response.json()
}

const uppy = new Uppy({ autoProceed: true, restrictions: { maxNumberOfFiles: 1 } })
uppy.use(Dashboard, {
  inline: true,
  target: '#stock',
  height: 300,
  width: '100%',
  showProgressDetails: true,
  proudlyDisplayPoweredByUppy: false,
})
uppy.use(AwsS3, {
  limit: 6,
  shouldUseMultipart: true,
  getChunkSize: () => partSize,
  createMultipartUpload: (file) => call('create/', { filename: file.name, type: file.type }),
  listParts: async () => [],
  signPart: (file, { key, uploadId, partNumber }) => call('sign/', { key, uploadId, partNumber }),
  completeMultipartUpload: (file, { key, uploadId, parts }) => call('complete/', { key, uploadId, parts }),
  abortMultipartUpload: (file, { key, uploadId }) => call('abort/', { key, uploadId }),
})
uppy.on('upload-success', (file, response) => {
  window.benchMarks.transferred = performance.now()
  window.benchMarks.key = response?.body?.key
  document.body.dataset.state = 'done'
})
uppy.on('upload-error', (file, error) => {
  window.benchMarks.error = String(error?.message ?? error)
  document.body.dataset.state = 'failed'
})
window.benchMarks = {}
