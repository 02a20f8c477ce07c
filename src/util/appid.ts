/** An account's or the component's appid: `wx` and 16 letters or digits (JSON Schema `pattern` form and RegExp). */
export const APPID_PATTERN = '^wx[0-9a-zA-Z]{16}$';
export const APPID = new RegExp(APPID_PATTERN);
