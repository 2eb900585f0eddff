import { badInput } from '../errors.js';

/** Longest run name, in characters. */
export const MAX_NAME = 120;
/** Most tags on one run, and the longest tag. */
export const MAX_TAGS = 20;
export const MAX_TAG = 40;
/** Longest notes, in characters. */
export const MAX_NOTES = 10_000;
/** A tag: letters, digits and `_ . : / = + -`, starting with a letter or digit. */
export const TAG_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}_.:/=+-]*$/u;

/** What a run is called and labelled with; each absent field is left as it was. */
export interface RunLabels {
  readonly name?: string;
  readonly tags?: readonly string[];
  readonly notes?: string;
}

/** Control characters other than tab, newline and carriage return. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/u;

/**
 * The labels as stored: the name trimmed, tags trimmed and deduplicated in their order. Throws
 * BAD_USER_INPUT naming `prefix.name`, `prefix.tags[i]` or `prefix.notes` for a value that is too
 * long, holds control characters, or (tags) is empty or uses other characters than TAG_PATTERN's.
 */
export function checkRunLabels(
  input: { name?: string | null; tags?: readonly string[] | null; notes?: string | null },
  prefix: string,
): { name?: string; tags?: string[]; notes?: string } {
  const out: { name?: string; tags?: string[]; notes?: string } = {};
  if (input.name !== undefined && input.name !== null) {
    const name = input.name.trim();
    if (name.length > MAX_NAME)
      throw badInput(`${prefix}.name`, input.name, `must be at most ${MAX_NAME} characters`);
    if (/[\n\r\t]/.test(name) || CONTROL.test(name))
      throw badInput(`${prefix}.name`, input.name, 'must be one line without control characters');
    out.name = name;
  }
  if (input.tags !== undefined && input.tags !== null) {
    if (input.tags.length > MAX_TAGS)
      throw badInput(`${prefix}.tags`, input.tags, `must hold at most ${MAX_TAGS} tags`);
    const tags: string[] = [];
    input.tags.forEach((raw, i) => {
      const tag = raw.trim();
      const field = `${prefix}.tags[${i}]`;
      if (tag.length === 0 || tag.length > MAX_TAG)
        throw badInput(field, raw, `must be 1-${MAX_TAG} characters`);
      if (!TAG_PATTERN.test(tag))
        throw badInput(
          field,
          raw,
          'must be letters, digits and _ . : / = + - only, starting with a letter or digit',
        );
      if (!tags.includes(tag)) tags.push(tag);
    });
    out.tags = tags;
  }
  if (input.notes !== undefined && input.notes !== null) {
    if (input.notes.length > MAX_NOTES)
      throw badInput(`${prefix}.notes`, input.notes, `must be at most ${MAX_NOTES} characters`);
    if (CONTROL.test(input.notes))
      throw badInput(`${prefix}.notes`, input.notes, 'must not hold control characters');
    out.notes = input.notes;
  }
  return out;
}
