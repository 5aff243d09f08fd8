/**
 * Sets `key` on `target` as an own, enumerable property, even when `key` is `__proto__`: plain
 * assignment would make the value the object's prototype instead, so a header of that name (any
 * producer can send one) would vanish and the keys of its value would read as headers of their own.
 */
export function setOwnProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}
