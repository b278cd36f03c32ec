/**
 * The structure of a JSON weight file with offsets, without building a node per number: the
 * jsonc-parser scanner walks keys and objects, and arrays are skipped by bracket matching (one
 * tight loop over the characters), so a 20 MB file of numbers scans in tens of milliseconds.
 * Values are decoded later, per tensor, from their text slice. No `vscode` import.
 */
import type { createScanner as CreateScanner } from 'jsonc-parser';

// jsonc-parser's package entry is a UMD bundle whose factory require()s its siblings at run time,
// which a bundle cannot satisfy; its scanner module has no dependencies and bundles cleanly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createScanner } = require('jsonc-parser/lib/umd/impl/scanner') as { createScanner: typeof CreateScanner };

/** jsonc-parser's SyntaxKind values (a const enum in its typings, so not importable as values). */
const SyntaxKind = {
  OpenBraceToken: 1,
  CloseBraceToken: 2,
  OpenBracketToken: 3,
  CloseBracketToken: 4,
  CommaToken: 5,
  ColonToken: 6,
  StringLiteral: 10,
  Unknown: 16,
  EOF: 17,
} as const;
type SyntaxKind = number;

/** A property found in the file. Names are dotted paths, the way the JSON reader flattens nesting. */
export interface ScannedProperty {
  /** Dotted path: `h.0.mlp.c_fc.weight`, `layers.1.W1`. */
  name: string;
  /** Nesting depth: 0 for top-level keys. */
  depth: number;
  /** Index of the property whose value holds this one, -1 at the top level. */
  parent: number;
  /** The key's offset and length, quotes included. */
  keyOffset: number;
  keyLength: number;
  valueOffset: number;
  valueLength: number;
  /** What the value looks like. */
  kind: 'numbers' | 'tensorObject' | 'object' | 'objectList' | 'array' | 'string' | 'literal';
}

export interface ScanResult {
  properties: ScannedProperty[];
  /** Whether the top level is an object at all. */
  topLevelObject: boolean;
  /** The first syntax problem, when the scan had to stop (VS Code's JSON support reports it too). */
  syntaxError?: { offset: number; message: string };
}

const TENSOR_OBJECT_KEYS = new Set(['data', 'shape', 'dtype']);

class Stop extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

/**
 * Offset just past the `]` matching the `[` at `start`, skipping strings; -1 when unbalanced.
 * Also reports whether the first leaf is numeric (a number, or NaN/Infinity as exports write them).
 */
function skipArray(text: string, start: number): { end: number; numeric: boolean; firstLeafObject: boolean } {
  let depth = 0;
  let numeric = false;
  let firstLeafObject = false;
  let sawLeaf = false;
  const n = text.length;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 91 /* [ */) {
      depth++;
    } else if (c === 93 /* ] */) {
      depth--;
      if (depth === 0) return { end: i + 1, numeric, firstLeafObject };
    } else if (c === 34 /* " */) {
      const s = i;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
      if (!sawLeaf) {
        sawLeaf = true;
        numeric = /^"[+-]?(nan|inf|infinity)"$/i.test(text.slice(s, i + 1));
      }
    } else if (!sawLeaf && c > 32 && c !== 44 /* , */) {
      sawLeaf = true;
      // digits, '-', NaN/Infinity (bare, as Python writes them) and null count as a number array
      numeric = (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 78 || c === 73 || c === 110;
      firstLeafObject = c === 123 /* { */;
    }
  }
  return { end: -1, numeric, firstLeafObject };
}

/** Scans `text` for its properties. Never throws: a syntax error ends the scan with what was found. */
export function scanJson(text: string): ScanResult {
  const properties: ScannedProperty[] = [];
  const scanner = createScanner(text, true);
  // read through tok(): a plain variable would be narrowed by TypeScript across next() calls
  const next = (): SyntaxKind => scanner.scan();
  const tok = (): SyntaxKind => scanner.getToken();
  const fail = (message: string): never => {
    throw new Stop(scanner.getTokenOffset(), message);
  };

  /** Skips the value starting at the current token; returns its end offset and kind. */
  const value = (name: string, depth: number, self: number): { end: number; kind: ScannedProperty['kind'] } => {
    const start = scanner.getTokenOffset();
    switch (tok()) {
      case SyntaxKind.OpenBraceToken: {
        const keys = object(name + '.', depth + 1, self);
        const end = scanner.getTokenOffset() + scanner.getTokenLength();
        const isTensor = keys.size > 0 && keys.has('data') && [...keys].every((k) => TENSOR_OBJECT_KEYS.has(k));
        return { end, kind: isTensor ? 'tensorObject' : 'object' };
      }
      case SyntaxKind.OpenBracketToken: {
        const skipped = skipArray(text, start);
        if (skipped.end < 0) fail("expected ']'");
        if (skipped.firstLeafObject && !skipped.numeric) {
          // a list of objects: layers.0.W1 ... scan each item like an object
          list(name, depth, self);
          return { end: scanner.getTokenOffset() + scanner.getTokenLength(), kind: 'objectList' };
        }
        scanner.setPosition(skipped.end);
        return { end: skipped.end, kind: skipped.numeric ? 'numbers' : 'array' };
      }
      case SyntaxKind.StringLiteral:
        return { end: start + scanner.getTokenLength(), kind: 'string' };
      default:
        return { end: start + scanner.getTokenLength(), kind: 'literal' };
    }
  };

  /** At `[` of a list of objects: each object item is scanned as `name.i.`. */
  const list = (name: string, depth: number, parent: number): void => {
    next();
    let i = 0;
    while (tok() !== SyntaxKind.CloseBracketToken) {
      if (tok() === SyntaxKind.EOF) fail("expected ']'");
      if (tok() === SyntaxKind.OpenBraceToken) object(`${name}.${i}.`, depth + 1, parent);
      else value(`${name}.${i}`, depth + 1, parent);
      i++;
      next();
      if (tok() === SyntaxKind.CommaToken) next();
    }
  };

  /** At `{`: scans the properties up to the matching `}`; returns the keys seen. */
  const object = (prefix: string, depth: number, parent: number): Set<string> => {
    const keys = new Set<string>();
    next();
    while (tok() !== SyntaxKind.CloseBraceToken) {
      if (tok() !== SyntaxKind.StringLiteral) fail(tok() === SyntaxKind.EOF ? "expected '}'" : 'expected a property name in double quotes');
      const key = scanner.getTokenValue();
      const keyOffset = scanner.getTokenOffset();
      const keyLength = scanner.getTokenLength();
      if (next() !== SyntaxKind.ColonToken) fail("expected ':'");
      next();
      const valueOffset = scanner.getTokenOffset();
      const name = prefix + key;
      const index = properties.length;
      properties.push({ name, depth, parent, keyOffset, keyLength, valueOffset, valueLength: 0, kind: 'literal' });
      const v = value(name, depth, index);
      properties[index].valueLength = v.end - valueOffset;
      properties[index].kind = v.kind;
      keys.add(key);
      next();
      if (tok() === SyntaxKind.CommaToken) next();
      else if (tok() !== SyntaxKind.CloseBraceToken) fail(tok() === SyntaxKind.EOF ? "expected '}'" : "expected ','");
    }
    return keys;
  };

  try {
    next();
    if (tok() !== SyntaxKind.OpenBraceToken) return { properties, topLevelObject: false };
    object('', 0, -1);
    return { properties, topLevelObject: true };
  } catch (e) {
    if (e instanceof Stop) return { properties, topLevelObject: true, syntaxError: { offset: e.offset, message: e.message } };
    throw e;
  }
}
