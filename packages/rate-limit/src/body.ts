/** The same response, with a body that calls `done` once, when it is read to the end, fails or is cancelled. */
export function holdBody(response: Response, done: () => void): Response {
  const reader = response.body?.getReader();
  let open = !!reader;
  const end = () => {
    if (open) done();
    open = false;
  };
  if (!reader) {
    done();
    return response;
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (!chunk.done) return controller.enqueue(chunk.value);
        end();
        controller.close();
      } catch (error) {
        end();
        controller.error(error);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  return Object.defineProperty(new Response(body, response), 'url', { value: response.url });
}
