/**
 * Builds WeChat-style XML: strings in CDATA, numbers bare (as WeChat writes CreateTime). A `]]>` inside
 * a value is split across two CDATA sections so no value can close its section early.
 */
export type XmlInput = string | number | XmlInputObject | XmlInput[];
export interface XmlInputObject {
  [name: string]: XmlInput | undefined;
}

export function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

function element(name: string, value: XmlInput): string {
  if (Array.isArray(value)) return value.map((v) => element(name, v)).join('');
  if (typeof value === 'number') return `<${name}>${value}</${name}>`;
  if (typeof value === 'string') return `<${name}>${cdata(value)}</${name}>`;
  return `<${name}>${children(value)}</${name}>`;
}

function children(obj: XmlInputObject): string {
  let out = '';
  for (const [name, value] of Object.entries(obj)) {
    if (value !== undefined) out += element(name, value);
  }
  return out;
}

export function buildXml(fields: XmlInputObject, root = 'xml'): string {
  return `<${root}>${children(fields)}</${root}>`;
}
