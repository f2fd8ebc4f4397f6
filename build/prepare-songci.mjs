// Builds the Song ci corpus (plain text, UTF-8, LF) from chinese-poetry's dist/songci/ci.song.*.json files.
// Called by build/setup.sh:  node build/prepare-songci.mjs OUT.txt IN1.json [IN2.json ...]
// Each poem is an object with a `paragraphs` array of strings; paragraphs are joined with "\n", poems are
// separated by one blank line, and the file ends with "\n". Poems containing any character other than CJK
// ideographs and Chinese punctuation (e.g. the placeholder '□', U+FFFD, kana, Cyrillic) are dropped.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [out, ...inputs] = process.argv.slice(2);
if (!out || inputs.length === 0) {
  console.error('usage: node prepare-songci.mjs OUT.txt IN.json [IN.json ...]');
  process.exit(2);
}

// Allowed: CJK Unified Ideographs (U+4E00–U+9FFF), Extension A (U+3400–U+4DBF), the supplementary-plane
// ideograph blocks (Ext. B–F and Compatibility Supplement, U+20000–U+2FA1F), CJK symbols and punctuation
// (U+3000–U+303F), half-/full-width forms (U+FF00–U+FFEF), … · — “ ” ‘ ’, and the "\n" joining paragraphs.
const allowed = /^[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2FA1F}\u3000-\u303F\uFF00-\uFFEF\u2026\u00B7\u2014\u201C\u201D\u2018\u2019\n]+$/u;

const kept = [];
let dropped = 0;
for (const file of inputs) {
  const poems = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(poems)) throw new Error(`${basename(file)}: expected a JSON array of poems`);
  for (const [i, poem] of poems.entries()) {
    const paragraphs = poem?.paragraphs;
    if (!Array.isArray(paragraphs) || !paragraphs.every((p) => typeof p === 'string')) {
      throw new Error(`${basename(file)}[${i}]: expected a 'paragraphs' array of strings`);
    }
    const text = paragraphs.join('\n');
    if (allowed.test(text)) kept.push(text);
    else dropped++;
  }
}
if (kept.length === 0) throw new Error('no poem kept');

const corpus = kept.join('\n\n') + '\n';
writeFileSync(out, corpus, 'utf8');

const distinct = new Set(corpus); // iterates code points, so supplementary-plane ideographs count once
console.log(`kept ${kept.length} poems, dropped ${dropped}; ${distinct.size} distinct characters ` +
  `(${distinct.size - 1} without the newline), ${[...corpus].length} characters`);
