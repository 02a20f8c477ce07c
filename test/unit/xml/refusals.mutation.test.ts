import { describe, expect, it } from 'vitest';
import { XmlError } from '../../../src/errors.js';
import { parseXml, xmlText, type ParseXmlOptions } from '../../../src/xml/parse.js';

/** `reason: detail` of the refusal, or `ok` with the result: what a refused push's log line says. */
const outcome = (xml: string, o?: ParseXmlOptions): string => {
  try {
    return `ok ${JSON.stringify(parseXml(xml, o))}`;
  } catch (err) {
    if (err instanceof XmlError) return `${err.reason}: ${err.detail}`;
    throw err;
  }
};

describe('parseXml: each refusal says what and where (one log line is enough to diagnose a push)', () => {
  it.each<[string, string, ParseXmlOptions?]>([
    ['<xml><A>1</A></xml>', 'xml_too_large: XML invalid: 19 > 18 characters', { maxLength: 18 }],
    ['  text', 'xml_malformed: XML invalid: expected a root element at offset 2'],
    ['<xml/>x', 'xml_malformed: XML invalid: content after the root element at offset 6'],
    ['<!DOCTYPE x><xml/>', 'xml_forbidden: XML refused: DTD and entity declarations are refused (offset 0)'],
    ['<xml><!ELEMENT a ANY></xml>', 'xml_forbidden: XML refused: DTD and entity declarations are refused (offset 5)'],
    ['<xml><!-- open </xml>', 'xml_malformed: XML invalid: unterminated comment at offset 5'],
    // No '>' after the open comment: an earlier, closed comment must not be taken for its end.
    ['<!-- c --><xml/><!-- open', 'xml_malformed: XML invalid: unterminated comment at offset 16'],
    ['<?xml version="1.0"', 'xml_malformed: XML invalid: unterminated XML declaration at offset 0'],
    ['<!x><xml/>', 'xml_malformed: XML invalid: unexpected declaration at offset 0'],
    ['<xml><![IGNORE[x]]></xml>', 'xml_malformed: XML invalid: unexpected declaration at offset 5'],
    ['<?pi x?><xml/>', 'xml_malformed: XML invalid: processing instructions are not accepted at offset 0'],
    ['<xml><?pi x?></xml>', 'xml_malformed: XML invalid: processing instructions are not accepted at offset 5'],
    ['<xml><1A>x</1A></xml>', 'xml_malformed: XML invalid: expected a name at offset 6'],
    ['<xml><A/x></A></xml>', 'xml_malformed: XML invalid: expected a name at offset 7'],
    ['<xml', 'xml_malformed: XML invalid: unterminated start tag at offset 4'],
    ['<xml a></xml>', 'xml_malformed: XML invalid: expected = in attribute at offset 6'],
    ['<xml><A b="1"c></A></xml>', 'xml_malformed: XML invalid: expected = in attribute at offset 14'],
    ['<xml a=1></xml>', 'xml_malformed: XML invalid: expected a quoted attribute value at offset 7'],
    ['<xml a="1></xml>', 'xml_malformed: XML invalid: unterminated attribute value at offset 7'],
    ['<xml a="<"></xml>', 'xml_malformed: XML invalid: < in attribute value at offset 7'],
    ['<xml><A><B>1</B></A></xml>', 'xml_malformed: XML invalid: nesting deeper than 1 at offset 8', { maxDepth: 1 }],
    ['<xml><A>1</A>', 'xml_malformed: XML invalid: unterminated element <xml> at offset 13'],
    ['<xml><![CDATA[x</xml>', 'xml_malformed: XML invalid: unterminated CDATA section at offset 5'],
    ['<xml><A>1</B></xml>', 'xml_malformed: XML invalid: </B> closes <A> at offset 12'],
    ['<xml><A>1</A x></xml>', 'xml_malformed: XML invalid: expected > at offset 13'],
    ['<xml>t<A>1</A></xml>', 'xml_malformed: XML invalid: mixed text and elements in <xml> at offset 20'],
    ['<xml><A>&nbsp;</A></xml>', 'xml_forbidden: XML refused: undeclared entity &nbsp;'],
    ['<xml><A>1</A></xml>', 'xml_malformed: XML invalid: more than 1 nodes (elements, attributes, comments, CDATA sections, references) at offset 5', { maxNodes: 1 }],
  ])('%j → %s', (xml, expected, o) => {
    expect(outcome(xml, o)).toBe(expected);
  });

  it('counts nodes up to maxNodes inclusive', () => {
    expect(outcome('<xml><A>1</A></xml>', { maxNodes: 2 })).toBe('ok {"A":"1"}');
  });

  it('names the bad character reference and the element that is not text', () => {
    expect(outcome('<xml><A>&#0;</A></xml>')).toMatch(/^xml_malformed: XML invalid: invalid character reference/);
    expect(() => xmlText(parseXml('<xml><B><C>1</C></B></xml>'), 'B')).toThrow('<B> is not a text element');
  });
});

describe('parseXml: terminators are found exactly', () => {
  it('a comment ends at the first "-->" only, whatever near misses come before it', () => {
    expect(parseXml('<xml><A><!-- x>--y -x> x-> ]]> ?> -->1</A></xml>')).toEqual({ A: '1' });
    expect(parseXml('<xml><A><!----x -->1</A></xml>')).toEqual({ A: '1' });
    // "<!-->" opens a comment; its "-->" cannot overlap the opening "<!--".
    expect(outcome('<xml><!--></xml>')).toBe('xml_malformed: XML invalid: unterminated comment at offset 5');
  });

  it('finds the end after many false ">" (the slow path), and refuses when there is none', () => {
    const many = ' >'.repeat(20);
    expect(parseXml(`<xml><A><!--${many} x--y -->1</A></xml>`)).toEqual({ A: '1' });
    expect(parseXml(`<xml><A><![CDATA[${many} x]>y]]></A></xml>`)).toEqual({ A: `${many} x]>y` });
    expect(outcome(`<xml><!--${many}</xml>`)).toBe('xml_malformed: XML invalid: unterminated comment at offset 5');
    expect(outcome(`<?xml${many}<xml/>`)).toBe('xml_malformed: XML invalid: unterminated XML declaration at offset 0');
  });

  it('CDATA ends at the first "]]>" and keeps "]>" and "]]" inside', () => {
    expect(parseXml('<xml><A><![CDATA[x]>y]]z]]></A></xml>')).toEqual({ A: 'x]>y]]z' });
  });

  it('the XML declaration ends at its "?>" even after other ">"', () => {
    expect(parseXml('<?xml version="1.0" a=">"?><xml><A>1</A></xml>')).toEqual({ A: '1' });
  });
});

describe('parseXml: references', () => {
  it('decodes references in one element without reaching into the next one', () => {
    expect(parseXml('<xml><A>&amp;</A><B>&lt;</B></xml>')).toEqual({ A: '&', B: '<' });
  });

  it.each([
    ['a&b', 'no ; at all'],
    ['&;', 'empty reference'],
    ['&abcdefghijk;', '11 characters between & and ;'],
    ['&a b;', 'whitespace inside'],
    ['&a&b;', 'a second & inside'],
    ['&#x+41;', 'signed hex'],
    ['&#x41G;', 'trailing garbage in hex'],
    ['&#+65;', 'signed decimal'],
    ['&#65x;', 'trailing garbage in decimal'],
  ])('refuses %j as malformed (%s)', (ref) => {
    expect(outcome(`<xml><A>${ref}</A></xml>`)).toMatch(/^xml_malformed: /);
  });

  it('calls an & with whitespace or another & before its ; a bare &, at the &', () => {
    expect(outcome('<xml><A>x&a b;</A></xml>')).toBe('xml_malformed: XML invalid: bare & in text at offset 9');
    expect(outcome('<xml><A>&a&b;</A></xml>')).toBe('xml_malformed: XML invalid: bare & in text at offset 8');
  });

  it('a ; in a later element does not end an & of this one', () => {
    expect(outcome('<xml><A>a &</A><B>;</B></xml>')).toMatch(/^xml_malformed: XML invalid: bare & in text/);
  });

  it('a well-formed name of up to 10 characters that is not one of the five is refused as an undeclared entity', () => {
    expect(outcome('<xml><A>&abcdefghi;</A></xml>')).toBe('xml_forbidden: XML refused: undeclared entity &abcdefghi;');
    expect(outcome('<xml><A>&abcdefghij;</A></xml>')).toBe('xml_forbidden: XML refused: undeclared entity &abcdefghij;');
  });

  it('accepts the smallest and the largest code point', () => {
    expect(parseXml('<xml><A>&#1;&#x10FFFF;</A></xml>')).toEqual({ A: '\u0001\u{10FFFF}' });
  });
});
