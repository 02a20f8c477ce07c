/** The Accept header a browser sends for a page (pages answer HTML to it, JSON to an API client). */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
/** Request headers of a browser asking for a page. */
export const BROWSER = { accept: BROWSER_ACCEPT };
