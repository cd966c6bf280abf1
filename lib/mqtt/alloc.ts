/**
 * Output buffer allocation for the encoder.
 *
 * A JS engine allocates a typed array of more than a few dozen bytes outside its heap, which costs
 * far more than encoding a small packet. So, like Node's Buffer pool, packets of POOL_MAX bytes or
 * less (and more than IN_HEAP_MAX) are carved out of a shared SLAB_SIZE slab: the returned
 * Uint8Array is exactly the packet's size, but its `.buffer` is the slab. Callers must honour
 * `byteOffset`/`byteLength` (every Uint8Array-aware API does) and must never transfer or detach
 * `.buffer`; `bytes.slice()` gives a packet its own ArrayBuffer. Slab bytes are never reused: a
 * used region stays with its packet, and a full slab is simply replaced.
 */

/**
 * 64 KiB slabs with packets up to 16 KiB carved from them: a 4 KB PUBLISH then costs a view, not
 * an allocation (which was half its encode time). The price: a packet kept alive keeps its slab
 * (at most 64 KiB) alive; the broker and the transport drop packets once they are sent.
 */
const SLAB_SIZE = 65_536;
const POOL_MAX = 16_384;
/** Sizes the engine allocates cheaply on its own heap (V8 keeps typed arrays of <= 64 bytes there). */
const IN_HEAP_MAX = 64;

let slab = new Uint8Array(SLAB_SIZE);
let slabOffset = 0;

/** A zero-filled-or-fresh Uint8Array of exactly `size` bytes, every byte to be written by the caller. */
export function allocate(size: number): Uint8Array {
  if (size <= IN_HEAP_MAX || size > POOL_MAX) return new Uint8Array(size);
  if (slabOffset + size > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabOffset = 0;
  }
  const start = slabOffset;
  // keep each packet 8-byte aligned so views never straddle another packet's word
  slabOffset = (start + size + 7) & ~7;
  return slab.subarray(start, start + size);
}
