/** The modules named, or a failure naming the first one that is missing. */
export function needs(modules, ...keys) {
  for (const key of keys) {
    const module = modules[key];
    if (!module) throw new Error(`suite asked for unknown module ${key}`);
    if (module.__missing) throw new Error(`not built: ${module.__missing}`);
  }
  return modules;
}

/** Lets pending promise chains and timers of 0 ms run. */
export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

export const ok = () => new Response('ok');

export function tagger(name, order) {
  return {
    name,
    async handle(request, next) {
      order.push(`${name}:in`);
      const response = await next(request);
      order.push(`${name}:out`);
      return response;
    },
  };
}

export function streamOf(...parts) {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}
