/**
 * A counter a relay reports at /metrics (Prometheus text), with these labels if any; 0 while it
 * has not counted anything (labelled series appear only once counted).
 */
export async function relayCounter(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}]/g, '\\$&');
  return Number(new RegExp(`^${escaped} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}
