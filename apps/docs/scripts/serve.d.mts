// Types of serve.mjs for the TypeScript config and tests (the script itself is plain JS for Node).
export interface ServedRequest {
  path: string;
  status: number;
  type: string;
}
export interface StaticServer {
  url: string;
  requests: ServedRequest[];
  close(): Promise<void>;
}
export declare const ISOLATION_HEADERS: Readonly<
  Record<'Cross-Origin-Opener-Policy' | 'Cross-Origin-Embedder-Policy', string>
>;
export declare const MIME: Readonly<Record<string, string>>;
export declare const DIST: string;
export declare function serveStatic(root: string, options?: { host?: string; port?: number }): Promise<StaticServer>;
