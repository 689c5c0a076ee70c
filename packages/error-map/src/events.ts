/**
 * error-map classified a failure: a non-2xx response (thrown, or kept with `keepResponse`), a network failure
 * or its own timeout. `status` is undefined when there was no response.
 */
export interface ErrorMappedEvent {
  method: string;
  url: string;
  status: number | undefined;
  code: string;
}

declare module '@sluice/core' {
  interface SluiceEvents {
    'error:mapped': ErrorMappedEvent;
  }
}
