import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/*
 * Every link to a section of docs/METHOD.md (from the schema's descriptions, the sources, the
 * README, and the document itself) names a heading that exists, with GitHub's anchor rules.
 */

const ROOT = join(__dirname, '..', '..', '..');
const DOC = join(ROOT, 'docs', 'METHOD.md');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a document's headings, in order (code blocks skipped). */
function headingSlugs(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '');
  return [...withoutCode.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] as string));
}

function files(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path, extensions);
    return extensions.some((e) => name.endsWith(e)) ? [path] : [];
  });
}

describe('links to docs/METHOD.md', () => {
  const slugs = headingSlugs(readFileSync(DOC, 'utf8'));
  const known = new Set(slugs);

  it('gives every heading its own anchor (GitHub would suffix a repeated one with -1)', () => {
    expect(slugs.filter((s, i) => slugs.indexOf(s) !== i)).toEqual([]);
  });

  it('every docs/METHOD.md#anchor in the schema, the sources and the README exists', () => {
    const sources = [
      join(ROOT, 'schema.graphql'),
      join(ROOT, 'README.md'),
      ...files(join(ROOT, 'src'), ['.ts', '.js', '.html']),
    ];
    const links = sources.flatMap((path) =>
      [...readFileSync(path, 'utf8').matchAll(/docs\/METHOD\.md#([\w-]+)/g)].map((m) => ({
        file: relative(ROOT, path),
        anchor: m[1] as string,
      })),
    );
    expect(links.length).toBeGreaterThan(20);
    expect(links.filter((l) => !known.has(l.anchor))).toEqual([]);
  });

  it('every link inside the document names one of its own headings', () => {
    const doc = readFileSync(DOC, 'utf8');
    const links = [...doc.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((anchor) => !known.has(anchor))).toEqual([]);
  });
});
