/** A small typed event emitter that awaits its listeners in turn (no Node API: it runs in browsers too). */
// biome-ignore lint/suspicious/noExplicitAny: listener maps are checked by the subclass's event map
export class Emitter<Events extends Record<string, (payload: any) => unknown>> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  protected async emit<E extends keyof Events>(event: E, payload: Parameters<Events[E]>[0]): Promise<void> {
    for (const listener of [...(this.listeners.get(event) ?? [])]) await listener(payload);
  }

  protected hasListeners(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }
}
