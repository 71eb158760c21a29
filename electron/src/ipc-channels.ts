// The only IPC channels between preload and main (STYLE.md, "One typed bridge"): one for
// calls (renderer -> main, invoke/handle) and one for pushes (main -> renderer).
export const CALL_CHANNEL = 'stint:call';
export const PUSH_CHANNEL = 'stint:push';
