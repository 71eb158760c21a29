// The preload: exposes exactly one StintBridge as `window.stint` (STYLE.md, "One typed bridge,
// checked at both ends"). Threat: a compromised page using a generic IPC handle to reach
// anything main offers; so ipcRenderer itself, the IPC event object and process.env are never
// handed over, only call/onState/onNotice. Runs sandboxed; esbuild bundles contract and zod in.
import {
  BridgeCalls,
  BridgePush,
  BridgeReply,
  type BridgeInput,
  type BridgeMethod,
  type BridgeOutput,
  type CoreState,
  type Notice,
  type StintBridge,
} from '@stint/contract';
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { CALL_CHANNEL, PUSH_CHANNEL } from './ipc-channels';

let nextId = 0;

/** Only the message crosses contextBridge reliably, so the code leads it in brackets. */
function callError(code: string, message: string): Error {
  const error = new Error(message);
  error.name = `BridgeCallError(${code})`;
  return error;
}

function subscribe<T>(pick: (push: ReturnType<typeof BridgePush.parse>) => T | undefined, listener: (value: T) => void): () => void {
  // The page's listener gets only the validated value, never the IpcRendererEvent (which
  // carries `sender`, that is, ipcRenderer).
  const onPush = (_event: IpcRendererEvent, payload: unknown) => {
    const push = BridgePush.safeParse(payload);
    if (!push.success) return;
    const value = pick(push.data);
    if (value !== undefined) listener(value);
  };
  ipcRenderer.on(PUSH_CHANNEL, onPush);
  return () => {
    ipcRenderer.removeListener(PUSH_CHANNEL, onPush);
  };
}

const bridge: StintBridge = {
  async call<M extends BridgeMethod>(method: M, input: BridgeInput<M>): Promise<BridgeOutput<M>> {
    if (!Object.hasOwn(BridgeCalls, method)) throw callError('unknown_call', `Stint has no call named "${String(method)}".`);
    const id = nextId++;
    const reply = BridgeReply.parse(await ipcRenderer.invoke(CALL_CHANNEL, { id, method, input }));
    if (!reply.ok) throw callError(reply.error.code, reply.error.message);
    // Checked again on this side: the page only ever sees what the contract says.
    return BridgeCalls[method].output.parse(reply.result) as BridgeOutput<M>;
  },
  onState(listener: (state: CoreState) => void) {
    return subscribe((push) => (push.push === 'state' ? push.state : undefined), listener);
  },
  onNotice(listener: (notice: Notice) => void) {
    return subscribe((push) => (push.push === 'notice' ? push.notice : undefined), listener);
  },
};

contextBridge.exposeInMainWorld('stint', bridge);
