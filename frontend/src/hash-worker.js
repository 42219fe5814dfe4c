// A Web Worker that hashes parts off the page's main thread: one part per message, its Blob
// (a slice of the picked file, passed by reference) read here once.
import { digestBlob } from './digest.js'

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ id: data.id, ...(await digestBlob(data.blob, { md5: data.md5 })) })
  } catch (error) {
    self.postMessage({ id: data.id, error: String(error?.message ?? error) })
  }
}
