export { parseXml, xmlText, DEFAULT_XML_MAX_LENGTH } from './parse.js';
export type { XmlValue, XmlObject, ParseXmlOptions } from './parse.js';
export { buildXml, cdata } from './build.js';
export type { XmlInput, XmlInputObject } from './build.js';
