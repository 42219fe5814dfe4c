// Builds the uploader into the Django app's static files: uploader.js and uploader.css.
// The output is committed, so a deploy needs no Node (see README).
import * as esbuild from 'esbuild'

await esbuild.build({
  entryPoints: ['src/uploader.js', 'src/uploader.css'],
  outdir: '../uploads/static/uploads',
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022'],
  legalComments: 'eof',
  logLevel: 'info',
})
