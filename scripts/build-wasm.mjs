#!/usr/bin/env node
// Compiles the toolkit's C sources to WebAssembly and writes each module as base64 into a
// TypeScript file, so the packages ship no build step and no binary download:
//   packages/eval/native/knn.c      -> packages/eval/src/knn-wasm.ts       (exact kNN search)
//   packages/core/native/kernels.c  -> packages/core/src/backend/kernels-wasm.ts (wasm-backend kernels)
//   packages/core/native/rng.c      -> packages/core/src/rng-wasm.ts     (Rng's normal draws)
// `--check` rebuilds and fails when a committed module differs from what its source compiles to
// (CI runs it with Debian's clang-14 and clang-16). `--only <name>` builds one module (knn | kernels | rng).
//
// Toolchain: clang with the wasm32 target and wasm-ld (Debian: clang-14 lld-14). Override with
// CLANG=/path/to/clang and OBJDUMP=/path/to/llvm-objdump. The kernels' relaxed-SIMD variants
// (-mrelaxed-simd: f32x4.relaxed_madd, the fused multiply-add) need clang-16 (Debian: clang-16
// lld-16), whose relaxed SIMD opcodes are the standard's (clang-14 emits the draft's, which engines
// refuse); override with CLANG_RELAXED and OBJDUMP_RELAXED.
//
// The kernels then go through Binaryen's wasm-opt (the `binaryen` devDependency, a JavaScript
// build) for one pass, optimize-added-constants-propagate: clang 14/16 compute `pointer + constant`
// with an explicit i32.add before each load instead of the load's offset field, and V8 then spends
// an instruction per load on the address. The pass moves such constants into the offsets; it
// assumes the low 1 KB of memory is never addressed (--low-memory-unused), which holds for kernels
// that only address tensors on the backend's heap.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

/**
 * Every module runs on memory it does not own: the kNN module on one it shares with its worker
 * threads, the kernels on the tfjs wasm backend's heap. So none may keep anything in linear memory
 * of its own (no shadow stack, no static data): the build rejects any global.get/set and any data
 * segment. Each module comes in a private-memory and a shared-memory (threads) variant.
 */
const MODULES = [
  {
    name: 'knn',
    source: 'packages/eval/native/knn.c',
    target: 'packages/eval/src/knn-wasm.ts',
    title: 'The exact-kNN WebAssembly module (native/knn.c)',
    exports: ['KNN_WASM_BASE64', 'KNN_WASM_SHARED_BASE64'],
    flags: [],
  },
  {
    name: 'kernels',
    source: 'packages/core/native/kernels.c',
    target: 'packages/core/src/backend/kernels-wasm.ts',
    title: 'The wasm-backend kernels module (native/kernels.c)',
    exports: ['KERNELS_WASM_BASE64', 'KERNELS_WASM_SHARED_BASE64', 'KERNELS_WASM_RELAXED_BASE64', 'KERNELS_WASM_RELAXED_SHARED_BASE64'],
    flags: ['-mbulk-memory'],
    foldOffsets: true,
  },
  {
    name: 'rng',
    source: 'packages/core/native/rng.c',
    target: 'packages/core/src/rng-wasm.ts',
    title: "Rng's normal-draws module (native/rng.c)",
    // One thread only: the private-memory variant.
    exports: ['RNG_WASM_BASE64'],
    flags: [],
  },
];

const pick = (candidates) => candidates.find((c) => c && (c.includes('/') ? existsSync(c) : onPath(c)));
function onPath(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const clang = pick([process.env.CLANG, 'clang-14', '/usr/lib/llvm-14/bin/clang', 'clang']);
const objdump = pick([process.env.OBJDUMP, 'llvm-objdump-14', '/usr/lib/llvm-14/bin/llvm-objdump', 'llvm-objdump']);
if (!clang || !objdump) {
  console.error('build-wasm: needs clang (wasm32 target, wasm-ld) and llvm-objdump; on Debian: apt-get install clang-14 lld-14');
  process.exit(2);
}
const clangRelaxed = pick([process.env.CLANG_RELAXED, 'clang-16', '/usr/lib/llvm-16/bin/clang']);
const objdumpRelaxed = pick([process.env.OBJDUMP_RELAXED, 'llvm-objdump-16', '/usr/lib/llvm-16/bin/llvm-objdump']);
const needsRelaxed = MODULES.some((m) => (only === undefined || m.name === only) && m.exports.length > 2);
if (needsRelaxed && (!clangRelaxed || !objdumpRelaxed)) {
  console.error("build-wasm: the kernels' relaxed-SIMD variants need clang-16 (wasm32 target, wasm-ld) and llvm-objdump-16; on Debian: apt-get install clang-16 lld-16");
  process.exit(2);
}

const wasmOpt = join(root, 'node_modules', 'binaryen', 'bin', 'wasm-opt');
if (MODULES.some((m) => (only === undefined || m.name === only) && m.foldOffsets) && !existsSync(wasmOpt)) {
  console.error('build-wasm: needs the binaryen devDependency (node_modules/binaryen/bin/wasm-opt); run npm ci');
  process.exit(2);
}

/** f32x4.relaxed_madd as the standard encodes it (0xfd, then 0x105 as LEB128). */
const RELAXED_MADD = 'fd 85 02';

const common = ['--target=wasm32', '-O3', '-msimd128', '-nostdlib', '-Wl,--no-entry', '-Wl,--import-memory',
  '-Wl,--max-memory=4294967296', '-Wl,--strip-all'];
const shared = ['-matomics', '-mbulk-memory', '-Wl,--shared-memory'];
const variants = [
  { doc: 'private memory (one thread)', flags: [] },
  { doc: 'shared memory (several threads)', flags: shared },
  { doc: 'relaxed SIMD (fused multiply-add), private memory', flags: ['-mrelaxed-simd'], relaxed: true },
  { doc: 'relaxed SIMD (fused multiply-add), shared memory', flags: ['-mrelaxed-simd', ...shared], relaxed: true },
];

const dir = mkdtempSync(join(tmpdir(), 'build-wasm-'));
let failed = false;
try {
  for (const module of MODULES.filter((m) => only === undefined || m.name === only)) {
    const source = join(root, module.source);
    const target = join(root, module.target);
    const lines = [`// Generated by scripts/build-wasm.mjs from ${relative(dirname(dirname(target)), source)} — do not edit.`, ''];
    const summary = [];
    variants.slice(0, module.exports.length).forEach((variant, i) => {
      const name = module.exports[i];
      const out = join(dir, `${name}.wasm`);
      const cc = variant.relaxed ? clangRelaxed : clang;
      const dump = variant.relaxed ? objdumpRelaxed : objdump;
      execFileSync(cc, [...common, ...new Set([...module.flags, ...variant.flags]), '-o', out, source], { stdio: 'inherit' });
      if (module.foldOffsets) {
        const features = ['--mvp-features', '--enable-sign-ext', '--enable-mutable-globals', '--enable-simd', '--enable-bulk-memory'];
        if (variant.flags.includes('-matomics')) features.push('--enable-threads');
        if (variant.relaxed) features.push('--enable-relaxed-simd');
        execFileSync(process.execPath, [wasmOpt, ...features, '--low-memory-unused', '--optimize-added-constants-propagate', out, '-o', out], { stdio: 'inherit' });
      }
      const listing = execFileSync(dump, ['-d', out], { encoding: 'utf8', maxBuffer: 256 << 20 });
      const sections = execFileSync(dump, ['-h', out], { encoding: 'utf8' });
      if (/\bglobal\.(get|set)\b/.test(listing) || /^\s*\d+\s+DATA\b/m.test(sections)) {
        console.error(`build-wasm: ${module.source} keeps data in linear memory (a global or a data segment); it cannot run on memory it does not own`);
        process.exit(1);
      }
      // llvm-objdump (14 and 16) prints relaxed SIMD instructions as <unknown>: the standard variants
      // must have none, the relaxed ones the fused multiply-add and nothing else unknown.
      const unknown = listing.split('\n').filter((line) => line.includes('<unknown>'));
      const madds = unknown.filter((line) => line.includes(RELAXED_MADD)).length;
      if (variant.relaxed ? madds === 0 || madds !== unknown.length : unknown.length > 0) {
        console.error(`build-wasm: ${name} has ${madds} f32x4.relaxed_madd and ${unknown.length - madds} other unknown instructions; expected ${variant.relaxed ? 'only relaxed_madd' : 'none'}`);
        process.exit(1);
      }
      const bytes = readFileSync(out);
      const sha = createHash('sha256').update(bytes).digest('hex');
      summary.push(`${name} ${bytes.length} bytes sha256 ${sha.slice(0, 16)}`);
      lines.push(
        `/** ${module.title}, ${variant.doc}: ${bytes.length} bytes, sha256 ${sha}. @internal */`,
        `export const ${name} =\n  '${bytes.toString('base64')}';`,
        '',
      );
    });
    const text = lines.join('\n');
    if (check) {
      const committed = existsSync(target) ? readFileSync(target, 'utf8') : '';
      if (committed !== text) {
        console.error(`build-wasm --check: ${module.target} is not what ${module.source} compiles to (fresh build: ${summary.join('; ')}); run node scripts/build-wasm.mjs`);
        failed = true;
      } else {
        console.log(`build-wasm --check: ${module.name} ok (${summary.join('; ')})`);
      }
    } else {
      writeFileSync(target, text);
      console.log(`build-wasm: wrote ${module.target} (${summary.join('; ')})`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed) process.exit(1);
