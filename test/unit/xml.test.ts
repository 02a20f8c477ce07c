import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { XmlError } from '../../src/errors.js';
import { buildXml, cdata, parseXml } from '../../src/xml/index.js';

function reasonOf(xml: string, maxLength?: number): string {
  try {
    parseXml(xml, { maxLength });
  } catch (err) {
    if (err instanceof XmlError) return err.reason;
    throw err;
  }
  return 'parsed';
}

describe('parseXml', () => {
  it('parses WeChat pushes with CDATA, bare numbers, whitespace and an XML declaration', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>\n<xml>\n  <AppId><![CDATA[wx0c0ffee0c0ffee00]]></AppId>\n  <CreateTime>1413192605</CreateTime>\n  <InfoType><![CDATA[component_verify_ticket]]></InfoType>\n  <ComponentVerifyTicket>ticket@@@abc</ComponentVerifyTicket>\n</xml>`;
    expect(parseXml(xml)).toEqual({
      AppId: 'wx0c0ffee0c0ffee00',
      CreateTime: '1413192605',
      InfoType: 'component_verify_ticket',
      ComponentVerifyTicket: 'ticket@@@abc',
    });
  });

  it('keeps CDATA content exactly (no trimming, markup untouched) and decodes entities in text', () => {
    expect(parseXml('<xml><A><![CDATA[ <b>&amp; ]]></A><B>a &lt;b&gt; &amp; &#20013;&#x6587;</B><C/></xml>')).toEqual({
      A: ' <b>&amp; ',
      B: 'a <b> & 中文',
      C: '',
    });
  });

  it('handles nested elements and repeated elements as arrays', () => {
    const xml = '<xml><info><name>n</name><code>c</code></info><item><id>1</id></item><item><id>2</id></item></xml>';
    expect(parseXml(xml)).toEqual({ info: { name: 'n', code: 'c' }, item: [{ id: '1' }, { id: '2' }] });
  });

  it('round-trips values containing "]]>" through buildXml', () => {
    const tricky = 'a]]>b<![CDATA[c]]>]]>';
    const xml = buildXml({ Content: tricky, CreateTime: 7 });
    expect(xml).toBe(`<xml><Content>${cdata(tricky)}</Content><CreateTime>7</CreateTime></xml>`);
    expect(parseXml(xml)).toEqual({ Content: tricky, CreateTime: '7' });
    // An independent parser reads our output the same way.
    expect(new XMLParser({ parseTagValue: false }).parse(xml).xml.Content).toBe(tricky);
  });

  it('refuses XXE: DOCTYPE, ENTITY declarations and undeclared entities', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><A>&xxe;</A></xml>';
    expect(reasonOf(xxe)).toBe('xml_forbidden');
    expect(reasonOf('<!ENTITY a "b"><xml/>')).toBe('xml_forbidden');
    expect(reasonOf('<xml><!DOCTYPE x><A>1</A></xml>')).toBe('xml_forbidden');
    expect(reasonOf('<xml><A>&xxe;</A></xml>')).toBe('xml_forbidden');
    const billionLaughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml>&lol2;</xml>';
    expect(reasonOf(billionLaughs)).toBe('xml_forbidden');
  });

  it('refuses oversized documents before parsing', () => {
    expect(reasonOf(`<xml><A>${'x'.repeat(2000)}</A></xml>`, 1000)).toBe('xml_too_large');
  });

  it.each([
    ['unclosed root', '<xml><A>1</A>'],
    ['mismatched tags', '<xml><A>1</B></xml>'],
    ['unterminated CDATA', '<xml><A><![CDATA[abc</A></xml>'],
    ['two roots', '<xml></xml><xml></xml>'],
    ['text before root', 'hello<xml/>'],
    ['bare ampersand', '<xml><A>a & b</A></xml>'],
    ['processing instruction', '<xml><?php echo 1; ?></xml>'],
    ['mixed content', '<xml>text<A>1</A></xml>'],
    ['empty', ''],
    ['invalid char ref', '<xml><A>&#0;</A></xml>'],
  ])('refuses malformed XML: %s', (_name, xml) => {
    expect(reasonOf(xml)).toBe('xml_malformed');
  });

  it('limits nesting depth', () => {
    const deep = `${'<a>'.repeat(40)}x${'</a>'.repeat(40)}`;
    expect(reasonOf(deep)).toBe('xml_malformed');
  });
});
