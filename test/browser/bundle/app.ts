// What a web application imports from the SDK: the whole main entry and the browser entry. The
// bundle-size report (docs/browser.md) measures the bundle of this file.
export * from '@liaison/client';
export * from '@liaison/client/browser';
