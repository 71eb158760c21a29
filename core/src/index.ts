export { StintCore, type CorePlatform, type RequestInput } from './core';
export type { Notifier, CoreLog } from './platform';
export { runtimePaths, ensurePrivateDir, type RuntimePaths } from './runtime/paths';
export { ConfStore, type ConfFactory, type KeyValueStore } from './settings/store';
export { ApiClient, ApiError } from './api/client';
export { startHost, dataDir, openWebUi, systemBrowser, type Host, type HostOptions } from './composition-root';
export { contentSecurityPolicy, LINK_TTL_MS } from './bridge/web-bridge';
export { createDispatcher, type Dispatch } from './bridge/dispatch';
