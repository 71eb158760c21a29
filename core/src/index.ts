export { StintCore, type CorePlatform, type RequestInput } from './core';
export type { Notifier, CoreLog } from './platform';
export { runtimePaths, ensurePrivateDir, type RuntimePaths } from './runtime/paths';
export { ApiClient, ApiError } from './api/client';
export { startHost, dataDir, systemBrowser, type Host, type HostOptions } from './host';
export { createDispatcher, type Dispatch } from './bridge/dispatch';
