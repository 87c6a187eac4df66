//! Deterministic randomness: a SplitMix64 generator, independent sub-streams keyed by
//! `(seed, tag, a, b)`, and GUIDs formatted from it.
//!
//! Every record of the export draws from its own sub-stream (for example "product 17" or
//! "offer 17/2"), so a record looks the same in every file that mentions it (goods, offers,
//! prices, rests) without keeping the catalog in memory, and without depending on the order in
//! which files are written.

use std::fmt;

/// SplitMix64 finaliser: a strong 64-bit mixing function.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Sub-stream tags: one per kind of record, so streams never collide.
pub(crate) mod tag {
    pub const CATALOG: u64 = 1;
    pub const GROUP: u64 = 2;
    pub const PROPERTY: u64 = 4;
    pub const PRICE_TYPE: u64 = 5;
    pub const WAREHOUSE: u64 = 6;
    pub const PRODUCT: u64 = 7;
    pub const VARIANT: u64 = 8;
    pub const ORPHAN: u64 = 9;
    pub const OFFER_DATA: u64 = 10;
    pub const PHANTOM_PRICE: u64 = 11;
    pub const PHANTOM_REST: u64 = 12;
    pub const CUSTOMER: u64 = 13;
    pub const SEGMENT: u64 = 14;
    pub const MANUFACTURER: u64 = 16;
}

/// A SplitMix64 pseudo-random generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// The sub-stream `(tag, a, b)` of `seed`.
    pub(crate) fn stream(seed: u64, tag: u64, a: u64, b: u64) -> Rng {
        let k = mix(seed ^ 0x5851_f42d_4c95_7f2d)
            ^ mix(tag.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678)
            ^ mix(a.wrapping_mul(0xd1b5_4a32_d192_ed03) ^ mix(b ^ 0x0bad_cafe));
        Rng(mix(k))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`; returns 0 for `n == 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a slice of length `n`.
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub(crate) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// A random element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// A random string of a non-empty list.
    pub(crate) fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.index(items.len())]
    }

    /// A GUID shaped like the record ids 1C writes (version nibble 1, RFC variant).
    pub(crate) fn guid(&mut self) -> Guid {
        let a = self.next_u64().to_be_bytes();
        let b = self.next_u64().to_be_bytes();
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&a);
        g[8..].copy_from_slice(&b);
        g[6] = (g[6] & 0x0f) | 0x10;
        g[8] = (g[8] & 0x3f) | 0x80;
        Guid(g)
    }

    /// `n` random decimal digits appended to `out`.
    pub(crate) fn digits(&mut self, n: usize, out: &mut Vec<u8>) {
        for _ in 0..n {
            out.push(b'0' + self.below(10) as u8);
        }
    }
}

/// A 128-bit identifier printed as lowercase `8-4-4-4-12` hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Guid(pub(crate) [u8; 16]);

impl Guid {
    /// `00000000-0000-0000-0000-000000000000`: 1C's "no value".
    pub(crate) const ZERO: Guid = Guid([0; 16]);

    /// The 36 ASCII bytes of the textual form.
    pub(crate) fn bytes(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 36];
        let mut pos = 0;
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out[pos] = b'-';
                pos += 1;
            }
            out[pos] = HEX[usize::from(byte >> 4)];
            out[pos + 1] = HEX[usize::from(byte & 0x0f)];
            pos += 2;
        }
        out
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.bytes();
        // The buffer holds only ASCII hex digits and dashes.
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_format_and_streams() {
        let mut r = Rng::stream(42, tag::PRODUCT, 0, 0);
        let g = r.guid().to_string();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "1");
        assert_eq!(
            Guid::ZERO.to_string(),
            "00000000-0000-0000-0000-000000000000"
        );
        let a = Rng::stream(42, tag::PRODUCT, 1, 0).next_u64();
        let b = Rng::stream(42, tag::PRODUCT, 1, 0).next_u64();
        let c = Rng::stream(42, tag::PRODUCT, 2, 0).next_u64();
        let d = Rng::stream(43, tag::PRODUCT, 1, 0).next_u64();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        let mut r = Rng::stream(1, 2, 3, 4);
        for _ in 0..1000 {
            assert!(r.below(7) < 7);
            let v = r.range(2, 5);
            assert!((2..=5).contains(&v));
        }
    }
}
