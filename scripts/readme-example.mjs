#!/usr/bin/env node
// Extract the first ```ts block of a README and transpile it to an ES module (types stripped).
import { readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const [readme, out] = process.argv.slice(2);
const text = readFileSync(readme, 'utf8');
const match = /```ts\n([\s\S]*?)```/.exec(text);
if (!match) {
  console.error(`no \`\`\`ts example in ${readme}`);
  process.exit(1);
}
const { outputText } = ts.transpileModule(match[1], {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
});
writeFileSync(out, outputText);
