// A named test double of the `electron` module: the parts main.ts (and electron-store, which
// it imports) use, for main.test.ts, where no Electron binary can run. It RECORDS what the
// glue does (menus built, tray updates, windows and the URLs they load, notifications shown,
// dialogs asked, links opened, IPC handlers) and lets a test do what a person or the OS would
// (click a menu item or a notification's button, answer a dialog, send a link, wake the
// machine, start a second copy). Where Electron's own behaviour matters to the glue it is
// copied: app.quit() emits a preventable 'before-quit'; a window emits 'ready-to-show' once
// after its first load and 'web-contents-created' when it is made; closing a notification
// emits 'close'. It draws nothing and talks to no OS: see the top of main.test.ts.
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions, MenuItemConstructorOptions, MessageBoxOptions, MessageBoxReturnValue, NotificationConstructorOptions, Rectangle } from 'electron';

/** Electron's Event: what a listener may prevent. */
export class DoubleEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class AppDouble extends EventEmitter {
  isPackaged = false;
  /** What requestSingleInstanceLock answers: false plays a second copy of the app. */
  singleInstanceLock = true;
  lockRequested = false;
  sandboxEnabled = false;
  /** Times app.quit() was called, and whether a quit went through (no 'before-quit' listener prevented it). */
  quitCalls = 0;
  quitted = false;
  exitCode: number | null = null;
  readyAsked = false;
  loginItemSettings: Electron.Settings[] = [];
  protocolClients: string[] = [];
  #ready: () => void = () => undefined;
  #whenReady = this.#newReady();

  constructor(private readonly appPath: string) {
    super();
  }

  #newReady(): Promise<void> {
    return new Promise<void>((resolve) => (this.#ready = resolve));
  }

  reset(appPath: string): void {
    this.removeAllListeners();
    Object.assign(this, { appPath, isPackaged: false, singleInstanceLock: true, lockRequested: false, sandboxEnabled: false, quitCalls: 0, quitted: false, exitCode: null, readyAsked: false });
    this.loginItemSettings = [];
    this.protocolClients = [];
    this.#whenReady = this.#newReady();
  }

  /** The OS has finished starting the app: whenReady() resolves. */
  becomeReady(): void {
    this.#ready();
  }

  getAppPath(): string {
    return this.appPath;
  }
  getPath(_name: string): string {
    return join(tmpdir(), 'stint-electron-double');
  }
  getVersion(): string {
    return '0.0.0-double';
  }
  requestSingleInstanceLock(): boolean {
    this.lockRequested = true;
    return this.singleInstanceLock;
  }
  setAppUserModelId(_id: string): void {}
  enableSandbox(): void {
    this.sandboxEnabled = true;
  }
  whenReady(): Promise<void> {
    this.readyAsked = true;
    return this.#whenReady;
  }
  setAsDefaultProtocolClient(scheme: string): boolean {
    this.protocolClients.push(scheme);
    return true;
  }
  getLoginItemSettings(): { wasOpenedAtLogin: boolean; openAtLogin: boolean } {
    return { wasOpenedAtLogin: false, openAtLogin: false };
  }
  setLoginItemSettings(settings: Electron.Settings): void {
    this.loginItemSettings.push(settings);
  }
  /** As Electron's: 'before-quit' first; any listener may prevent the quit. */
  quit(): void {
    this.quitCalls++;
    const event = new DoubleEvent();
    this.emit('before-quit', event);
    if (event.defaultPrevented) return;
    this.quitted = true;
    this.emit('quit', new DoubleEvent(), 0);
  }
  exit(code = 0): void {
    this.exitCode = code;
  }

  /** The OS hands over a stint:// link (macOS); returns the event, to see it was taken. */
  openUrl(url: string): DoubleEvent {
    const event = new DoubleEvent();
    this.emit('open-url', event, url);
    return event;
  }
  /** Another copy was started with `argv` and handed it over (Windows and Linux deliver links so). */
  secondInstance(argv: string[], workingDirectory = process.cwd()): void {
    this.emit('second-instance', new DoubleEvent(), argv, workingDirectory, {});
  }
}

export class MenuDouble {
  constructor(readonly template: MenuItemConstructorOptions[]) {}

  /** Every label, submenus as "Parent › Child", in menu order. */
  labels(items = this.template, prefix = ''): string[] {
    return items.flatMap((item) => {
      if (!item.label) return [];
      const label = `${prefix}${item.label}`;
      const below = Array.isArray(item.submenu) ? this.labels(item.submenu, `${label} › `) : [];
      return [label, ...below];
    });
  }

  /** The item reached through these labels (each a label or a pattern for one), or undefined. */
  find(...path: (string | RegExp)[]): MenuItemConstructorOptions | undefined {
    let items: MenuItemConstructorOptions[] = this.template;
    let found: MenuItemConstructorOptions | undefined;
    for (const step of path) {
      found = items.find((item) => item.label !== undefined && (typeof step === 'string' ? item.label === step : step.test(item.label)));
      if (!found) return undefined;
      items = Array.isArray(found.submenu) ? found.submenu : [];
    }
    return found;
  }

  /** A person clicking the item reached through these labels. */
  click(...path: (string | RegExp)[]): void {
    const item = this.find(...path);
    if (!item) throw new Error(`no menu item ${path.join(' › ')} in:\n  ${this.labels().join('\n  ')}`);
    if (item.enabled === false) throw new Error(`menu item ${path.join(' › ')} is disabled`);
    if (!item.click) throw new Error(`menu item ${path.join(' › ')} does nothing when clicked`);
    (item.click as (...args: unknown[]) => void)(item, undefined, new DoubleEvent());
  }
}

export class TrayDouble extends EventEmitter {
  toolTip = '';
  title = '';
  contextMenu: MenuDouble | null = null;
  /** Menus popped up (right-click on macOS and Windows), oldest first. */
  poppedUp: MenuDouble[] = [];
  destroyed = false;

  constructor(
    public image: ImageDouble,
    double: ElectronDouble,
  ) {
    super();
    double.trays.push(this);
  }

  setImage(image: ImageDouble): void {
    this.image = image;
  }
  setToolTip(toolTip: string): void {
    this.toolTip = toolTip;
  }
  setTitle(title: string): void {
    this.title = title;
  }
  setContextMenu(menu: MenuDouble | null): void {
    this.contextMenu = menu;
  }
  popUpContextMenu(menu?: MenuDouble): void {
    const shown = menu ?? this.contextMenu;
    if (shown) this.poppedUp.push(shown);
  }
  getBounds(): Rectangle {
    return { x: 1800, y: 0, width: 24, height: 24 };
  }
  destroy(): void {
    this.destroyed = true;
  }

  /**
   * The menu a person would see now: the context menu the glue set (Linux), or else the one a
   * right-click pops up (macOS, Windows).
   */
  menu(): MenuDouble {
    if (this.contextMenu) return this.contextMenu;
    this.emit('right-click', new DoubleEvent(), this.getBounds());
    const shown = this.poppedUp.at(-1);
    if (!shown) throw new Error('the tray has no menu: neither a context menu nor one on right-click');
    return shown;
  }
}

export interface ImageDouble {
  path: string;
  template: boolean;
  setTemplateImage(template: boolean): void;
}

export class WebContentsDouble extends EventEmitter {
  /** Pushes sent to the page, oldest first. */
  sent: { channel: string; args: unknown[] }[] = [];
  url = '';
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;

  constructor(private readonly double: ElectronDouble) {
    super();
  }

  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }

  /** The page in this window calling ipcRenderer.invoke from its main frame (what the preload does). */
  invoke(channel: string, payload: unknown): Promise<unknown> {
    const handler = this.double.ipcMain.handlers.get(channel);
    if (!handler) throw new Error(`nothing handles ${channel}`);
    return Promise.resolve(handler({ sender: this, senderFrame: { url: this.url, parent: null } }, payload));
  }
}

export class WindowDouble extends EventEmitter {
  /** Every URL loaded, oldest first. */
  loaded: string[] = [];
  visible = false;
  destroyed = false;
  focusCount = 0;
  position: [number, number] | null = null;
  readonly webContents: WebContentsDouble;
  #readyShown = false;

  constructor(
    readonly options: BrowserWindowConstructorOptions,
    double: ElectronDouble,
  ) {
    super();
    this.webContents = new WebContentsDouble(double);
    double.windows.push(this);
    double.app.emit('web-contents-created', new DoubleEvent(), this.webContents);
    if (options.show !== false) this.visible = true;
  }

  /** The URL loaded last. */
  get url(): string | undefined {
    return this.loaded.at(-1);
  }

  /** As Electron's: 'ready-to-show' once, after the first page has been "rendered". */
  loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    this.webContents.url = url;
    if (!this.#readyShown) {
      this.#readyShown = true;
      setImmediate(() => !this.destroyed && this.emit('ready-to-show', new DoubleEvent()));
    }
    return Promise.resolve();
  }
  show(): void {
    this.visible = true;
    this.emit('show', new DoubleEvent());
  }
  hide(): void {
    this.visible = false;
    this.emit('hide', new DoubleEvent());
  }
  focus(): void {
    this.focusCount++;
  }
  isVisible(): boolean {
    return this.visible && !this.destroyed;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setPosition(x: number, y: number): void {
    this.position = [x, y];
  }
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.visible = false;
    this.emit('closed', new DoubleEvent());
  }
}

export class NotificationDouble extends EventEmitter {
  shown = false;
  closed = false;

  constructor(
    readonly options: NotificationConstructorOptions,
    double: ElectronDouble,
  ) {
    super();
    double.notifications.push(this);
  }

  get title(): string {
    return this.options.title ?? '';
  }
  /** The buttons' texts (macOS shows them; other systems get none from the glue). */
  get actions(): string[] {
    return (this.options.actions ?? []).map((action) => action.text ?? '');
  }

  show(): void {
    this.shown = true;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', new DoubleEvent());
  }
  /** A person pressing the button with this text, as Electron 45 reports it (details, then the deprecated index). */
  press(text: string): void {
    const index = this.actions.indexOf(text);
    if (index < 0) throw new Error(`the notification "${this.title}" has no ${text} button (it has: ${this.actions.join(', ') || 'none'})`);
    this.emit('action', Object.assign(new DoubleEvent(), { actionIndex: index, selectionIndex: -1 }), index, -1);
  }
  /** A person clicking the notification's body. */
  click(): void {
    this.emit('click', new DoubleEvent());
  }
}

export class MessageBoxDouble {
  answer: number | null = null;
  readonly reply: Promise<MessageBoxReturnValue>;
  #resolve: (value: MessageBoxReturnValue) => void = () => undefined;

  constructor(readonly options: MessageBoxOptions) {
    this.reply = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** A person pressing the button with this label. */
  press(label: string): void {
    const index = (this.options.buttons ?? []).indexOf(label);
    if (index < 0) throw new Error(`the dialog "${this.options.message}" has no ${label} button (it has: ${(this.options.buttons ?? []).join(', ')})`);
    this.answer = index;
    this.#resolve({ response: index, checkboxChecked: false });
  }
}

type InvokeHandler = (event: { sender: WebContentsDouble; senderFrame: { url: string; parent: null } }, payload: unknown) => unknown;

export class ElectronDouble {
  readonly app: AppDouble;
  trays: TrayDouble[] = [];
  menus: MenuDouble[] = [];
  windows: WindowDouble[] = [];
  notifications: NotificationDouble[] = [];
  notificationsSupported = true;
  messageBoxes: MessageBoxDouble[] = [];
  errorBoxes: { title: string; content: string }[] = [];
  /** URLs handed to the system browser, oldest first. */
  openedExternally: string[] = [];
  /** Plays the system browser: called with each URL shell.openExternal is given. */
  browser: (url: string) => void = () => undefined;
  privilegedSchemes: string[] = [];
  protocolHandlers = new Map<string, (request: Request) => Promise<Response> | Response>();
  permissionHandlers = { request: null as unknown, check: null as unknown };

  readonly ipcMain = Object.assign(new EventEmitter(), {
    handlers: new Map<string, InvokeHandler>(),
    handle(channel: string, handler: InvokeHandler): void {
      if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      this.handlers.set(channel, handler);
    },
    removeHandler(channel: string): void {
      this.handlers.delete(channel);
    },
  });
  readonly powerMonitor = new EventEmitter();
  readonly nativeTheme = Object.assign(new EventEmitter(), { shouldUseDarkColors: false });

  /** What `vi.mock('electron', () => double.module)` hands the code under test. */
  readonly module: Record<string, unknown>;

  constructor(appPath: string) {
    this.app = new AppDouble(appPath);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the classes below record into this double
    const double = this;
    const exports = {
      app: this.app,
      ipcMain: this.ipcMain,
      powerMonitor: this.powerMonitor,
      nativeTheme: this.nativeTheme,
      BrowserWindow: class extends WindowDouble {
        constructor(options: BrowserWindowConstructorOptions = {}) {
          super(options, double);
        }
      },
      Tray: class extends TrayDouble {
        constructor(image: ImageDouble) {
          super(image, double);
        }
      },
      Notification: class extends NotificationDouble {
        static isSupported(): boolean {
          return double.notificationsSupported;
        }
        constructor(options: NotificationConstructorOptions = {}) {
          super(options, double);
        }
      },
      Menu: {
        buildFromTemplate(template: MenuItemConstructorOptions[]): MenuDouble {
          const menu = new MenuDouble(template);
          double.menus.push(menu);
          return menu;
        },
      },
      nativeImage: {
        createFromPath(path: string): ImageDouble {
          return {
            path,
            template: false,
            setTemplateImage(template: boolean) {
              this.template = template;
            },
          };
        },
      },
      protocol: {
        registerSchemesAsPrivileged(schemes: { scheme: string }[]): void {
          double.privilegedSchemes.push(...schemes.map((s) => s.scheme));
        },
        handle(scheme: string, handler: (request: Request) => Promise<Response> | Response): void {
          double.protocolHandlers.set(scheme, handler);
        },
      },
      session: {
        defaultSession: {
          setPermissionRequestHandler(handler: unknown): void {
            double.permissionHandlers.request = handler;
          },
          setPermissionCheckHandler(handler: unknown): void {
            double.permissionHandlers.check = handler;
          },
        },
      },
      screen: {
        getDisplayMatching(_rect: Rectangle): { workArea: Rectangle } {
          return { workArea: { x: 0, y: 24, width: 1920, height: 1056 } };
        },
      },
      shell: {
        async openExternal(url: string): Promise<void> {
          double.openedExternally.push(url);
          // The OS only starts the browser; what happens there is not the caller's to wait for.
          double.browser(url);
        },
        async openPath(_path: string): Promise<string> {
          return '';
        },
      },
      dialog: {
        showMessageBox(...args: [MessageBoxOptions] | [unknown, MessageBoxOptions]): Promise<MessageBoxReturnValue> {
          const box = new MessageBoxDouble(args.length === 1 ? args[0] : args[1]);
          double.messageBoxes.push(box);
          return box.reply;
        },
        showErrorBox(title: string, content: string): void {
          double.errorBoxes.push({ title, content });
        },
      },
    };
    this.module = { ...exports, default: exports };
  }

  /** A fresh start: nothing recorded, no listeners, the app not ready yet. */
  reset(appPath: string = this.app.getAppPath()): void {
    this.app.reset(appPath);
    this.trays = [];
    this.menus = [];
    this.windows = [];
    this.notifications = [];
    this.notificationsSupported = true;
    this.messageBoxes = [];
    this.errorBoxes = [];
    this.openedExternally = [];
    this.browser = () => undefined;
    this.privilegedSchemes = [];
    this.protocolHandlers.clear();
    this.permissionHandlers = { request: null, check: null };
    this.ipcMain.handlers.clear();
    this.ipcMain.removeAllListeners();
    this.powerMonitor.removeAllListeners();
    this.nativeTheme.removeAllListeners();
    this.nativeTheme.shouldUseDarkColors = false;
  }

  /** The one tray icon (throws when the glue made none, or more than one). */
  get tray(): TrayDouble {
    if (this.trays.length !== 1) throw new Error(`expected one tray icon, found ${this.trays.length}`);
    return this.trays[0]!;
  }
}
