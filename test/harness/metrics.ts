/**
 * A counter or gauge a relay reports at /metrics (Prometheus text), with these labels if any; 0
 * while it has not counted anything (labelled series appear only once counted). Gauges may be
 * fractional (an age in seconds).
 */
export async function relayCounter(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}]/g, '\\$&');
  return Number(new RegExp(`^${escaped} (\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)`, 'm').exec(text)?.[1] ?? 0);
}
