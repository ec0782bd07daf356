// Types for the few undici modules the transport imports directly. Importing the package's index
// evaluates all of undici (fetch, WebSocket, caches, mocks: ~530 KiB bundled) at the start of every
// run; these paths load only the HTTP/1.1 client, its pool and the proxy agent.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export = Pool;
}
declare module 'undici/lib/dispatcher/proxy-agent.js' {
  import { ProxyAgent } from 'undici';
  export = ProxyAgent;
}
declare module 'undici/lib/core/util.js' {
  export function headerNameToString(value: string | Buffer): string;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici';
  export = Dispatcher;
}
declare module 'undici/lib/api/api-connect.js' {
  const connect: (...args: unknown[]) => unknown;
  export = connect;
}
