import { describe, expect, it } from 'vitest';
import { buildXml, cdata } from '../../../src/xml/build.js';
import { parseXml, xmlText } from '../../../src/xml/parse.js';
import { XmlError } from '../../../src/errors.js';

const reason = (xml: string, o?: Parameters<typeof parseXml>[1]): string => {
  try {
    parseXml(xml, o);
    return 'ok';
  } catch (err) {
    if (err instanceof XmlError) return err.reason;
    throw err;
  }
};

describe('parseXml: what WeChat may send', () => {
  it('skips a BOM, tabs, CR/LF, the XML declaration and comments around and inside the root', () => {
    const xml = '\ufeff\t\r\n<?xml version="1.0" encoding="utf-8"?>\r\n<!-- c --><xml>\t<A>1</A><!-- inner -->\r\n<B>2</B>\n</xml>\n<!-- after -->\t';
    expect(parseXml(xml)).toEqual({ A: '1', B: '2' });
  });

  it('tolerates attributes in either quote and whitespace around =, and self-closing elements as empty text', () => {
    expect(parseXml(`<xml a="1" b = '2'><A x="y">v</A><E/><F k="v" /></xml>`)).toEqual({ A: 'v', E: '', F: '' });
  });

  it('decodes the five named entities and decimal and hex character references (upper- or lower-case x)', () => {
    expect(parseXml('<xml><A>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#X43;</A></xml>')).toEqual({ A: `<>&"'ABC` });
  });

  it('gives a root with only text no fields, and accepts names with - . : and _', () => {
    expect(parseXml('<xml>just text</xml>')).toEqual({});
    expect(parseXml('<xml><a-b.c:d_e>1</a-b.c:d_e><_x>2</_x></xml>')).toEqual({ 'a-b.c:d_e': '1', _x: '2' });
  });

  it('collects three or more repeats into one array, in order', () => {
    expect(parseXml('<xml><I>1</I><I>2</I><I>3</I></xml>')).toEqual({ I: ['1', '2', '3'] });
  });

  it('accepts a close tag with space before >, and whitespace around child elements', () => {
    expect(parseXml('<xml>\n  <A>1</A >\n</xml >')).toEqual({ A: '1' });
  });

  it('concatenates text and CDATA pieces of one element', () => {
    expect(parseXml('<xml><A>a<![CDATA[<b>]]>c</A></xml>')).toEqual({ A: 'a<b>c' });
  });
});

describe('parseXml: refusals', () => {
  it.each([
    ['', 'xml_malformed'],
    ['text', 'xml_malformed'],
    ['<xml><A>1</A></xml>trailing', 'xml_malformed'],
    ['<xml><A>1</A></xml><xml/>', 'xml_malformed'],
    ['<?xml version="1.0"', 'xml_malformed'],
    ['<xml><!-- open </xml>', 'xml_malformed'],
    ['<!-- open <xml/>', 'xml_malformed'],
    ['<xml><?pi x?></xml>', 'xml_malformed'],
    ['<?pi x?><xml/>', 'xml_malformed'],
    ['<xml><![CDATA[x</xml>', 'xml_malformed'],
    ['<xml><A>1</xml>', 'xml_malformed'],
    ['<xml><A>1</A>', 'xml_malformed'],
    ['<xml a></xml>', 'xml_malformed'],
    ['<xml a=1></xml>', 'xml_malformed'],
    ['<xml a="1></xml>', 'xml_malformed'],
    ['<xml a="<"></xml>', 'xml_malformed'],
    ['<xml', 'xml_malformed'],
    ['<xml><1A>x</1A></xml>', 'xml_malformed'],
    ['<xml><A>1</A x></xml>', 'xml_malformed'],
    ['<xml>text<A>1</A></xml>', 'xml_malformed'],
    ['<xml><A>a & b</A></xml>', 'xml_malformed'],
    ['<xml><A>&#0;</A></xml>', 'xml_malformed'],
    ['<xml><A>&#x110000;</A></xml>', 'xml_malformed'],
    ['<xml><A>&#xZZ;</A></xml>', 'xml_malformed'],
    ['<xml><A>&nbsp;</A></xml>', 'xml_forbidden'],
    ['<xml><!ELEMENT a ANY></xml>', 'xml_forbidden'],
    ['<!ATTLIST a b CDATA #IMPLIED><xml/>', 'xml_forbidden'],
    ['<xml><![IGNORE[x]]></xml>', 'xml_malformed'],
    ['<!x><xml/>', 'xml_malformed'],
  ])('%j → %s', (xml, expected) => {
    expect(reason(xml)).toBe(expected);
  });

  it('accepts whitespace-only text between child elements but not other text', () => {
    expect(reason('<xml> <A>1</A> </xml>')).toBe('ok');
    expect(reason('<xml><A>1</A>x</xml>')).toBe('xml_malformed');
  });

  it('limits size to maxLength characters inclusive, and depth to maxDepth levels below the root', () => {
    const xml = '<xml><A>1</A></xml>';
    expect(reason(xml, { maxLength: xml.length })).toBe('ok');
    expect(reason(xml, { maxLength: xml.length - 1 })).toBe('xml_too_large');
    expect(reason('<xml><A><B>1</B></A></xml>', { maxDepth: 2 })).toBe('ok');
    expect(reason('<xml><A><B><C>1</C></B></A></xml>', { maxDepth: 2 })).toBe('xml_malformed');
    const deep = `${'<a>'.repeat(17)}x${'</a>'.repeat(17)}`;
    expect(reason(deep)).toBe('ok');
    expect(reason(`<r>${deep}</r>`)).toBe('xml_malformed');
  });

  it('has a default size limit of 256 KiB', () => {
    const pad = 256 * 1024 - '<xml><A></A></xml>'.length;
    expect(reason(`<xml><A>${'x'.repeat(pad)}</A></xml>`)).toBe('ok');
    expect(reason(`<xml><A>${'x'.repeat(pad + 1)}</A></xml>`)).toBe('xml_too_large');
  });
});

describe('xmlText and buildXml', () => {
  it('reads a leaf, gives undefined for an absent one and refuses a nested element', () => {
    const f = parseXml('<xml><A>1</A><B><C>2</C></B></xml>');
    expect(xmlText(f, 'A')).toBe('1');
    expect(xmlText(f, 'Z')).toBeUndefined();
    expect(() => xmlText(f, 'B')).toThrow(XmlError);
  });

  it('writes strings in CDATA, numbers bare, nested objects and arrays, skipping undefined, under a chosen root', () => {
    expect(buildXml({ S: 'a<b', N: 7, O: { I: ['x', 2] }, U: undefined }, 'root')).toBe(
      '<root><S><![CDATA[a<b]]></S><N>7</N><O><I><![CDATA[x]]></I><I>2</I></O></root>',
    );
    expect(cdata('a]]>b]]>c')).toBe('<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>c]]>');
    expect(parseXml(buildXml({ V: 'a]]>b]]>c' }))).toEqual({ V: 'a]]>b]]>c' });
  });
});
