declare module 'vitest' {
  export interface ProvidedContext {
    clickhouseUrl: string;
  }
}
export {};
