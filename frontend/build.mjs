// Builds the uploader into the Django app's static files: uploader.js, uploader.css and
// hash-worker.js (the Web Worker that hashes parts, loaded by uploader.js).
// The output is committed, so a deploy needs no Node (see README).
import * as esbuild from 'esbuild'

await esbuild.build({
  entryPoints: ['src/uploader.js', 'src/uploader.css', 'src/hash-worker.js'],
  outdir: '../uploads/static/uploads',
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022'],
  legalComments: 'eof',
  logLevel: 'info',
})
