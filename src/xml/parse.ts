import { XmlError } from '../errors.js';

/**
 * WeChat's push and message XML is a shallow tree of elements with text or CDATA, no attributes of
 * meaning, no namespaces. Leaves are strings; an element with children is an object; an element that
 * repeats becomes an array.
 */
export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue;
}

export interface ParseXmlOptions {
  /** Largest document accepted, in UTF-16 code units of the string (≈ bytes for WeChat's ASCII XML). */
  maxLength?: number;
  /** Deepest nesting accepted. */
  maxDepth?: number;
  /**
   * Most nodes accepted: elements, attributes, comments, CDATA sections and character/entity
   * references. The push envelope (read before the signature is checked) has three elements and one
   * CDATA section; a small budget there bounds the work per node a stranger's body can cause, so a
   * refused body costs one linear scan however it is shaped.
   */
  maxNodes?: number;
}

export const DEFAULT_XML_MAX_LENGTH = 256 * 1024;
const DEFAULT_MAX_DEPTH = 16;
/** NaN (past the end) is neither. */
const isNameStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46;
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Parses WeChat XML and returns the root element's children.
 *
 * Hand-written rather than fast-xml-parser because it is on the hot path of every push and is the
 * XXE boundary: it never expands a DTD or entity (any `<!DOCTYPE`/`<!ENTITY` is refused outright) and
 * is ~6x faster on these messages (bench/xml.ts: 6.3–6.8x geometric mean, 5.3–9.0x per message).
 */
export function parseXml(xml: string, options: ParseXmlOptions = {}): XmlObject {
  const maxLength = options.maxLength ?? DEFAULT_XML_MAX_LENGTH;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (xml.length > maxLength) throw new XmlError('xml_too_large', `${xml.length} > ${maxLength} characters`);
  const p = new Parser(xml, maxDepth, options.maxNodes ?? Number.POSITIVE_INFINITY);
  p.skipProlog();
  if (p.peek() !== '<') p.fail('expected a root element');
  const root = p.element(0);
  p.skipMisc();
  if (p.pos < xml.length) p.fail('content after the root element');
  return typeof root.value === 'string' ? {} : root.value;
}

class Parser {
  pos = 0;
  private nodes = 0;
  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
    private readonly maxNodes: number,
  ) {}

  count(): void {
    if (++this.nodes > this.maxNodes) this.fail(`more than ${this.maxNodes} nodes (elements, attributes, comments, CDATA sections, references)`);
  }

  fail(message: string): never {
    throw new XmlError('xml_malformed', `${message} at offset ${this.pos}`);
  }

  peek(): string | undefined {
    return this.s[this.pos];
  }

  private startsWith(token: string): boolean {
    return this.s.startsWith(token, this.pos);
  }

  private skipSpace(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  private refuseDeclarations(): void {
    if (this.startsWith('<!DOCTYPE') || this.startsWith('<!ENTITY') || this.startsWith('<!ELEMENT') || this.startsWith('<!ATTLIST')) {
      throw new XmlError('xml_forbidden', `DTD and entity declarations are refused (offset ${this.pos})`);
    }
  }

  private skipComment(): void {
    this.count();
    const end = indexOfTerminator(this.s, '-->', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    this.pos = end + 3;
  }

  skipProlog(): void {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.skipSpace();
    if (this.startsWith('<?xml')) {
      const end = indexOfTerminator(this.s, '?>', this.pos);
      if (end < 0) this.fail('unterminated XML declaration');
      this.pos = end + 2;
    }
    this.skipMisc();
  }

  skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<!--')) this.skipComment();
      else if (this.startsWith('<!')) {
        this.refuseDeclarations();
        this.fail('unexpected declaration');
      } else if (this.startsWith('<?')) this.fail('processing instructions are not accepted');
      else return;
    }
  }

  /** `[A-Za-z_:][-A-Za-z0-9_.:]*` by char codes: a sticky regex allocated a match array per name (two per element). */
  private name(): string {
    const s = this.s;
    const start = this.pos;
    if (!isNameStart(s.charCodeAt(start))) this.fail('expected a name');
    let i = start + 1;
    while (isNameChar(s.charCodeAt(i))) i++;
    this.pos = i;
    return s.slice(start, i);
  }

  /** Reads the close tag's name when it is `name` without building a string; else exactly what name() reads. */
  private closeName(name: string): string {
    const s = this.s;
    if (s.startsWith(name, this.pos) && !isNameChar(s.charCodeAt(this.pos + name.length))) {
      this.pos += name.length;
      return name;
    }
    return this.name();
  }

  /** Skips attributes: WeChat's messages carry none that matter, but well-formed ones are tolerated. */
  private skipAttributes(): boolean {
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === '>') {
        this.pos++;
        return false;
      }
      if (c === '/' && this.s[this.pos + 1] === '>') {
        this.pos += 2;
        return true;
      }
      if (c === undefined) this.fail('unterminated start tag');
      this.count();
      this.name();
      this.skipSpace();
      if (this.peek() !== '=') this.fail('expected = in attribute');
      this.pos++;
      this.skipSpace();
      const q = this.peek();
      if (q !== '"' && q !== "'") this.fail('expected a quoted attribute value');
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) this.fail('unterminated attribute value');
      const lt = this.s.indexOf('<', this.pos + 1);
      if (lt >= 0 && lt < end) this.fail('< in attribute value');
      this.pos = end + 1;
    }
  }

  element(depth: number): { name: string; value: string | XmlObject } {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.count();
    this.pos++; // '<'
    const name = this.name();
    if (this.skipAttributes()) return { name, value: '' };
    let text = '';
    let children: XmlObject | undefined;
    const s = this.s;
    for (;;) {
      const lt = s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`unterminated element <${name}>`);
      if (lt > this.pos) text += decodeText(s, this.pos, lt, this);
      this.pos = lt;
      if (this.startsWith('<![CDATA[')) {
        this.count();
        const end = indexOfTerminator(s, ']]>', this.pos + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        text += s.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.startsWith('</')) {
        this.pos += 2;
        const close = this.closeName(name);
        if (close !== name) this.fail(`</${close}> closes <${name}>`);
        this.skipSpace();
        if (this.peek() !== '>') this.fail('expected >');
        this.pos++;
        if (children) {
          if (text.trim() !== '') this.fail(`mixed text and elements in <${name}>`);
          return { name, value: children };
        }
        return { name, value: text };
      } else if (this.startsWith('<!--')) {
        this.skipComment();
      } else if (this.startsWith('<!')) {
        this.refuseDeclarations();
        this.fail('unexpected declaration');
      } else if (this.startsWith('<?')) {
        this.fail('processing instructions are not accepted');
      } else {
        const child = this.element(depth + 1);
        children ??= {};
        const prev = children[child.name];
        if (prev === undefined) children[child.name] = child.value;
        else if (Array.isArray(prev)) prev.push(child.value);
        else children[child.name] = [prev, child.value];
      }
    }
  }
}

/**
 * `s.indexOf(term, from)` for the terminators `-->`, `?>`, `]]>`, found by their last character `>`
 * (a fast one-character scan) and checked backwards. V8's indexOf checks a multi-character pattern at
 * every position of a run of its first character (`----`, `????`, `]]]]`: ~15x slower on 64 KB). After
 * a few false `>` (`->->->`, where a call per `>` costs as much) it walks the characters itself.
 */
function indexOfTerminator(s: string, term: string, from: number): number {
  const n = term.length;
  const a = term.charCodeAt(0);
  const b = term.charCodeAt(1);
  let i = s.indexOf('>', from + n - 1);
  for (let misses = 0; i >= 0 && misses < 16; misses++, i = s.indexOf('>', i + 1)) if (terminatorEndsAt(s, i, n, a, b)) return i - n + 1;
  if (i < 0) return -1;
  for (; i < s.length; i++) if (s.charCodeAt(i) === 62 /* > */ && terminatorEndsAt(s, i, n, a, b)) return i - n + 1;
  return -1;
}

/** Whether the `n`-character terminator starting with `a`, `b` ends at the `>` at `i` (a function, not a closure per call). */
function terminatorEndsAt(s: string, i: number, n: number, a: number, b: number): boolean {
  return s.charCodeAt(i - n + 1) === a && (n === 2 || s.charCodeAt(i - n + 2) === b);
}

/**
 * Text of `s` from `from` to `to` with references decoded. One forward pass: each `&` is looked at once
 * and the first bad one ends the parse (a global regex replace first collected every match, so 64 KB
 * of `&` cost ~10 ms where a valid push of that size costs less).
 */
function decodeText(s: string, from: number, to: number, p: Parser): string {
  let amp = s.indexOf('&', from);
  if (amp < 0 || amp >= to) return s.slice(from, to);
  let out = '';
  let start = from;
  while (amp >= 0 && amp < to) {
    p.count();
    const semi = s.indexOf(';', amp + 1);
    // A reference is at most 10 characters between & and ; (as before: &#x10FFFF; is 8).
    if (semi < 0 || semi >= to || semi - amp - 1 > 10 || semi === amp + 1) failAt(p, amp, 'bare & in text');
    const ref = s.slice(amp + 1, semi);
    if (/[\s&]/.test(ref)) failAt(p, amp, 'bare & in text');
    let decoded: string;
    if (ref.startsWith('#x') || ref.startsWith('#X')) decoded = codePoint(/^[0-9a-fA-F]+$/.test(ref.slice(2)) ? Number.parseInt(ref.slice(2), 16) : NaN, p);
    else if (ref.startsWith('#')) decoded = codePoint(/^[0-9]+$/.test(ref.slice(1)) ? Number.parseInt(ref.slice(1), 10) : NaN, p);
    else {
      const named = NAMED_ENTITIES[ref];
      if (named === undefined) throw new XmlError('xml_forbidden', `undeclared entity &${ref};`);
      decoded = named;
    }
    out += s.slice(start, amp) + decoded;
    start = semi + 1;
    amp = s.indexOf('&', start);
  }
  return out + s.slice(start, to);
}

function failAt(p: Parser, at: number, message: string): never {
  p.pos = at;
  p.fail(message);
}

function codePoint(n: number, p: Parser): string {
  if (!Number.isInteger(n) || n < 1 || n > 0x10ffff) p.fail('invalid character reference');
  return String.fromCodePoint(n);
}

/** Reads a leaf as a string; an absent element is `undefined`, a nested element is an error. */
export function xmlText(obj: XmlObject, name: string): string | undefined {
  const v = obj[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new XmlError('xml_malformed', `<${name}> is not a text element`);
  return v;
}
