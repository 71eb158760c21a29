// The window's hash routes that main opens (tray entries, notification clicks, deep links): one
// format shared with the renderer, in contract/src/window-routes.ts.
export { routeHash, type Route, type RequestFormPrefill } from '@stint/contract';
