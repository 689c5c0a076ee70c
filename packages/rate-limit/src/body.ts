/** The same response, with a body that calls `done` once when it ends, errors or is cancelled. */
export function holdBody(response: Response, done: () => void): Response {
  if (!response.body) {
    done();
    return response;
  }
  const reader = response.body.getReader();
  let open = true;
  const end = () => {
    if (open) done();
    open = false;
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          end();
          controller.close();
        } else controller.enqueue(chunk.value);
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
  const held = new Response(body, response);
  Object.defineProperty(held, 'url', { value: response.url });
  return held;
}
